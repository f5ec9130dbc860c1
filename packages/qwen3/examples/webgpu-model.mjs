// The WebGPU model built by hand from a context and uploaded weights:  node webgpu-model.mjs ~/models/Qwen3-0.6B
import { createGpuContext } from '@qwen3-webgpu/tensor';
import { loadQwen3Weights } from '@qwen3-webgpu/weights';
import { generate, Qwen3ForCausalLM } from '@qwen3-webgpu/qwen3';

const ctx = await createGpuContext();
const weights = await loadQwen3Weights(ctx, process.argv[2] ?? '.');
const lm = new Qwen3ForCausalLM(ctx, weights, { maxContext: 256 });
const it = generate(lm, [785, 6722, 374], { temperature: 0.6, topK: 20, topP: 0.95, seed: 1, maxTokens: 16, stopIds: weights.config.eosTokenIds });
for await (const id of it) process.stdout.write(`${id} `);
console.log();
lm.destroy();
weights.destroy();
ctx.destroy();
