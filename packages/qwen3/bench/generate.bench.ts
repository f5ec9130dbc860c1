// Qwen3 generation benchmark on a checkpoint directory (default: a Qwen3-0.6B-shaped synthetic one written to a temp
// dir): load time, prefill tok/s, decode tok/s and the weight bandwidth that implies. With --torch <file> (from
// tools/bench/qwen3_torch.py on the same directory) it also checks that our greedy ids equal HF float32's and prints
// the ratio to HF transformers' own generation loop.
//   node tools/bundle.mjs packages/qwen3/bench/generate.bench.ts .device/bench && node .device/bench/generate.bench.mjs [--dir D]
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createGpuContext, measureCopyBandwidth } from '@qwen3-webgpu/tensor';
import { loadQwen3Weights, QWEN3_0_6B_CONFIG } from '@qwen3-webgpu/weights';
import { writeSyntheticCheckpoint } from '@qwen3-webgpu/weights/node';
import { generate, Qwen3ForCausalLM } from '../src/index.ts';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    dir: { type: 'string' },
    tokens: { type: 'string', default: '64' },
    'prompt-len': { type: 'string', default: '32' },
    torch: { type: 'string' },
  },
});
let dir = values.dir;
if (!dir) {
  dir = mkdtempSync(join(tmpdir(), 'qwen3-bench-'));
  await writeSyntheticCheckpoint(dir, { config: { ...QWEN3_0_6B_CONFIG }, seed: 1 });
}
const promptLen = Number(values['prompt-len']);
const tokens = Number(values.tokens);
const ctx = await createGpuContext();
console.log(`adapter: ${ctx.describe()}`);
const copy = await measureCopyBandwidth(ctx);
let t = performance.now();
const weights = await loadQwen3Weights(ctx, dir);
const loadS = (performance.now() - t) / 1000;
const lm = new Qwen3ForCausalLM(ctx, weights, { maxContext: 1024 });
const vocab = weights.config.vocabSize;
const prompt = Array.from({ length: promptLen }, (_, i) => (i * 7919 + 13) % vocab);
const run = async (n: number) => {
  const ids: number[] = [];
  const it = generate(lm, prompt, { temperature: 0, maxTokens: n });
  let r = await it.next();
  while (!r.done) {
    ids.push(r.value);
    r = await it.next();
  }
  return { ids, stats: r.value };
};
await run(4); // warm-up: pipelines compiled, clocks up
const { ids, stats } = await run(tokens);
// Bytes of weights one decode step reads: everything but the embedding (one row is gathered), plus lm_head (the
// embedding itself when tied).
const embedBytes = weights.embedTokens.tensor.byteLength;
const weightBytes = weights.checkpoint.totalBytes - embedBytes + weights.lmHead.tensor.byteLength * (weights.lmHead === weights.embedTokens ? 1 : 0);
const msPerToken = 1000 / stats.decodeTokensPerSecond;
console.log(`\nQwen3 ${(weights.checkpoint.totalBytes / 1e9).toFixed(2)} GB ${weights.embedTokens.tensor.dtype} on ${ctx.info.description || ctx.info.device}; copy ${copy.gbps.toFixed(0)} GB/s`);
console.log(`load ${loadS.toFixed(2)} s; prefill ${promptLen} tokens: ${stats.prefillMs.toFixed(1)} ms (${stats.prefillTokensPerSecond.toFixed(0)} tok/s)`);
console.log(`decode ${stats.generatedTokens} tokens: ${stats.decodeTokensPerSecond.toFixed(1)} tok/s, ${msPerToken.toFixed(2)} ms/token, ` +
  `${(weightBytes / (msPerToken * 1e6)).toFixed(0)} GB/s of weights (${((100 * weightBytes) / (msPerToken * 1e6) / copy.gbps).toFixed(1)} % of copy)`);
let failed = false;
if (values.torch) {
  const torch = JSON.parse(readFileSync(values.torch, 'utf8')) as { greedy_ids_f32: number[]; decode_tok_s: number; prefill_ms: number; dtype: string; device: string };
  const n = Math.min(torch.greedy_ids_f32.length, ids.length);
  const same = ids.slice(0, n).every((id, i) => id === torch.greedy_ids_f32[i]);
  failed = !same;
  console.log(`HF float32 greedy ids (first ${n}): ${same ? 'identical' : `DIFFER\n  ours ${ids.slice(0, n).join(' ')}\n  HF   ${torch.greedy_ids_f32.slice(0, n).join(' ')}`}`);
  console.log(`HF transformers generate() on ${torch.device} (${torch.dtype}): decode ${torch.decode_tok_s.toFixed(1)} tok/s → ours ×${(stats.decodeTokensPerSecond / torch.decode_tok_s).toFixed(2)}`);
}
lm.destroy();
weights.destroy();
ctx.destroy();
if (failed) process.exitCode = 1;
