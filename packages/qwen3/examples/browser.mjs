// In a page (bundled by esbuild, Vite or webpack): a folder URL, or the FileList of an <input type="file" webkitdirectory>.
import { encodePrompt, generate, loadCausalLM, loadTokenizer, StreamDecoder, stopIdsWith } from '@qwen3-webgpu/qwen3';

const source = new URL('https://huggingface.co/Qwen/Qwen3-0.6B/resolve/main/');
const tokenizer = await loadTokenizer(source); // tokenizer.json, tokenizer_config.json, the chat template
const lm = await loadCausalLM(source, { onProgress: ({ bytesDone, bytesTotal }) => console.log(`${((100 * bytesDone) / bytesTotal).toFixed(0)} %`) });
const ids = encodePrompt(tokenizer, 'Why is the sky blue?', { chat: true });
const text = new StreamDecoder(tokenizer);
for await (const id of generate(lm, ids, { temperature: 0.6, topK: 20, topP: 0.95, stopIds: stopIdsWith(lm.stopIds, tokenizer, true) })) {
  document.body.append(text.push(id));
}
lm.destroy();
