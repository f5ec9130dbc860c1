// The model directory's tokenizer (tokenizer.json + tokenizer_config.json through @huggingface/tokenizers) and chat
// template (tokenizer_config.json's chat_template, chat_template.jinja or chat_template.json, rendered with @huggingface/jinja as HF's
// apply_chat_template does).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { readJson } from '@qwen3-webgpu/weights';
import { RuntimeError, UsageError } from '@qwen3-webgpu/cli-kit/errors';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface TextTokenizer {
  /** Text → ids; special-token strings in the text become their ids. addSpecial: the post-processor's BOS/EOS. */
  encode(text: string, addSpecial?: boolean): number[];
  decode(ids: readonly number[]): string;
  /** Id of a token string (special or not), if the vocabulary has it. */
  idOf(token: string): number | undefined;
  /** The tokenizer.json it was read from (for messages). */
  readonly file: string;
  /** tokenizer_config.json's eos_token id, if any. */
  readonly eosId: number | undefined;
  /** The rendered chat (add_generation_prompt = true), or a UsageError when the directory has no template. */
  renderChat(messages: readonly ChatMessage[], options?: { noThink?: boolean }): string;
}

/** A special token as tokenizer_config.json writes it: a string or an AddedToken object. */
const tokenText = (t: unknown): string | undefined =>
  typeof t === 'string' ? t : t && typeof t === 'object' && typeof (t as { content?: unknown }).content === 'string' ? (t as { content: string }).content : undefined;

async function chatTemplateOf(dir: string, config: Record<string, unknown>): Promise<string | undefined> {
  const t = config.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t as { name?: string; template?: string }[];
    return (named.find((x) => x.name === 'default') ?? named[0])?.template;
  }
  // Newer HF saves keep the template beside the config: chat_template.jinja, or chat_template.json's "chat_template".
  const jinja = join(dir, 'chat_template.jinja');
  if (existsSync(jinja)) return readFileSync(jinja, 'utf8');
  const json = join(dir, 'chat_template.json');
  const inJson = existsSync(json) ? ((await readJson(json)) as Record<string, unknown>).chat_template : undefined;
  return typeof inJson === 'string' ? inJson : undefined;
}

export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  const jsonFile = join(dir, 'tokenizer.json');
  const configFile = join(dir, 'tokenizer_config.json');
  if (!existsSync(jsonFile)) throw new UsageError(`${jsonFile}: not found; text prompts need the model's tokenizer (or give --prompt-ids)`);
  const json = (await readJson(jsonFile)) as Record<string, unknown>;
  const config = existsSync(configFile) ? ((await readJson(configFile)) as Record<string, unknown>) : {};
  let tk: Tokenizer;
  try {
    tk = new Tokenizer(json, config);
  } catch (err) {
    throw new RuntimeError(`${jsonFile}: not a tokenizer @huggingface/tokenizers can read (${(err as Error).message})`);
  }
  const specials: Record<string, unknown> = {};
  for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) specials[key] = tokenText(config[key]) ?? null;
  specials.additional_special_tokens = Array.isArray(config.additional_special_tokens) ? config.additional_special_tokens.map(tokenText) : [];
  const eos = tokenText(config.eos_token);
  const source = await chatTemplateOf(dir, config);
  let template: Template | undefined;
  return {
    file: jsonFile,
    encode(text, addSpecial = true) {
      const ids = tk.encode(text, { add_special_tokens: addSpecial }).ids;
      // A word-level model without an unknown token maps unknown words to null instead of failing.
      if (!ids.every((id) => Number.isInteger(id))) throw new RuntimeError(`${jsonFile}: the tokenizer has no id for part of the prompt (its model has no unk_token)`);
      return ids;
    },
    decode: (ids) => (ids.length === 0 ? '' : tk.decode([...ids], { skip_special_tokens: true })),
    idOf: (token) => tk.token_to_id(token),
    eosId: eos === undefined ? undefined : tk.token_to_id(eos),
    renderChat(messages, options = {}) {
      if (source === undefined) throw new UsageError(`--chat: ${dir} has no chat template (tokenizer_config.json chat_template, chat_template.jinja or chat_template.json)`);
      try {
        template ??= new Template(source);
        return template.render({
          ...specials,
          messages,
          add_generation_prompt: true,
          ...(options.noThink ? { enable_thinking: false } : {}),
        });
      } catch (err) {
        throw new RuntimeError(`${configFile}: the chat template failed (${(err as Error).message})`);
      }
    },
  };
}

/**
 * Incremental detokenization: text appears as soon as it is final. A UTF-8 character split across tokens decodes to
 * U+FFFD until its last byte arrives, so text ending in U+FFFD is held back; decoding a window that starts a few
 * tokens back keeps tokenizers whose decoders depend on the previous token (leading spaces) right.
 */
export class StreamDecoder {
  readonly #ids: number[] = [];
  #prefix = 0;
  #read = 0;

  constructor(readonly tokenizer: Pick<TextTokenizer, 'decode'>) {}

  /** Adds one id; returns the new final text (possibly ''). */
  push(id: number): string {
    this.#ids.push(id);
    const before = this.tokenizer.decode(this.#ids.slice(this.#prefix, this.#read));
    const now = this.tokenizer.decode(this.#ids.slice(this.#prefix));
    if (now.length <= before.length || now.endsWith('\uFFFD')) return '';
    this.#prefix = this.#read;
    this.#read = this.#ids.length;
    return now.slice(before.length);
  }

  /** What is still held back (an incomplete character at the very end), as the tokenizer decodes it. */
  flush(): string {
    const before = this.tokenizer.decode(this.#ids.slice(this.#prefix, this.#read));
    const now = this.tokenizer.decode(this.#ids.slice(this.#prefix));
    this.#prefix = this.#read = this.#ids.length;
    return now.length > before.length ? now.slice(before.length) : '';
  }
}
