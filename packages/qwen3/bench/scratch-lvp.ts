import { createGpuContext, timeGpu } from '@qwen3-webgpu/tensor';
import { loadQwen3Weights } from '@qwen3-webgpu/weights';
import { Qwen3ForCausalLM, resolveSampling } from '../src/index.ts';
const ctx = await createGpuContext({ dawnFlags: process.env.DAWN ? [`enable-dawn-features=${process.env.DAWN}`] : [] });
const weights = await loadQwen3Weights(ctx, 'apps/generate/model');
const lm = new Qwen3ForCausalLM(ctx, weights, { maxContext: 2048 });
const greedy = resolveSampling(process.env.SAMPLED ? { temperature: 0.7, topK: 40, topP: 0.95 } : { temperature: 0 });
await lm.next(Array.from({ length: 32 }, (_, i) => i + 5), greedy, 0);
const list = lm.decodeStep(greedy);
const tags = (process.env.TAGS ?? 'rmsnorm').split(',');
for (let r = 0; r < 3; r++) {
  const w = await timeGpu(ctx, (p) => list.encode(p), { repeats: 4, trials: 9 });
  const line = [`whole ${(w.ms * 1000).toFixed(0)} µs`];
  for (const tag of tags) {
    const only = list.select((t) => t === tag);
    const b = await timeGpu(ctx, (p) => only.encode(p), { repeats: 4, trials: 9 });
    line.push(`${tag} ×${only.length} ${(b.ms * 1000).toFixed(0)} µs`);
  }
  console.log(line.join('; '));
}
process.exit(0);
