// The CLI's view of the model's tokenizer (the tokenizer itself lives in @qwen3-webgpu/qwen3, shared with the web
// app): a missing tokenizer or chat template is a usage error naming the flag, a broken one a runtime error.
import { join } from 'node:path';
import { hasTokenizer, loadTokenizer as loadModelTokenizer, type TextTokenizer } from '@qwen3-webgpu/qwen3';
import { RuntimeError, UsageError } from '@qwen3-webgpu/cli-kit/errors';

export { StreamDecoder, type ChatMessage, type TextTokenizer } from '@qwen3-webgpu/qwen3';

export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  if (!(await hasTokenizer(dir)))
    throw new UsageError(`${join(dir, 'tokenizer.json')}: not found; text prompts need the model's tokenizer (or give --prompt-ids)`);
  let tk: TextTokenizer;
  try {
    tk = await loadModelTokenizer(dir);
  } catch (err) {
    throw new RuntimeError((err as Error).message);
  }
  return {
    file: tk.file,
    encode(text, addSpecial) {
      try {
        return tk.encode(text, addSpecial);
      } catch (err) {
        throw new RuntimeError((err as Error).message);
      }
    },
    decode: (ids) => tk.decode(ids),
    idOf: (token) => tk.idOf(token),
    eosId: tk.eosId,
    hasChatTemplate: tk.hasChatTemplate,
    renderChat(messages, options) {
      if (!tk.hasChatTemplate)
        throw new UsageError(`--chat: ${dir} has no chat template (tokenizer_config.json chat_template, chat_template.jinja or chat_template.json)`);
      try {
        return tk.renderChat(messages, options);
      } catch (err) {
        throw new RuntimeError((err as Error).message);
      }
    },
  };
}
