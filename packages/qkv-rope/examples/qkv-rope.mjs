// Q/K/V projections + QK-norm + RoPE of 3 tokens at positions 17…19 with Qwen3-0.6B's sizes and bf16 weights,
// checked against the float64 reference on the CPU.
import { createGpuContext, createTensor, readFloat, roundToDtype, uploadTensor } from '@qwen3-webgpu/tensor';
import { createQkvRope, qkvRopeReference } from '@qwen3-webgpu/qkv-rope';

const dims = { hidden: 1024, numHeads: 16, numKvHeads: 8, headDim: 128 };
const [seq, position, M] = [3, 17, 1024 * 1024];
const random = Float32Array.from({ length: 4 * M + 256 + seq * 1024 }, (_, i) => Math.sin(i * 12.9898) / 16);
const values = roundToDtype(random, 'bf16'); // what bf16 stores
const [wqs, wks, wvs] = [values.subarray(0, 2 * M), values.subarray(2 * M, 3 * M), values.subarray(3 * M, 4 * M)];
const [qns, kns, xs] = [values.subarray(4 * M, 4 * M + 128), values.subarray(4 * M + 128, 4 * M + 256), values.subarray(4 * M + 256)];

const ctx = await createGpuContext();
// From @qwen3-webgpu/weights these are e.g. weights.layers[0]['self_attn.q_proj'].tensor (each a Tensor).
const wq = uploadTensor(ctx, [2048, 1024], 'bf16', wqs);
const wk = uploadTensor(ctx, [1024, 1024], 'bf16', wks);
const wv = uploadTensor(ctx, [1024, 1024], 'bf16', wvs);
const qNorm = uploadTensor(ctx, [128], 'bf16', qns);
const kNorm = uploadTensor(ctx, [128], 'bf16', kns);
const x = uploadTensor(ctx, [seq, 1024], 'f32', xs); // x: [seq, hidden] f32, rmsnorm-f32's output
const q = createTensor(ctx, [seq, 16, 128], 'f32'); // q: [seq, nh, hd]
const k = createTensor(ctx, [seq, 8, 128], 'f32'); // k, v: [seq, nkv, hd]
const v = createTensor(ctx, [seq, 8, 128], 'f32');
const qkv = createQkvRope(ctx, { ...dims, eps: 1e-6, ropeTheta: 1e6, maxPositions: 4096 });
await ctx.run((pass) => qkv.encode(pass, { x, wq, wk, wv, qNorm, kNorm, q, k, v, seq, position }));

const ref = qkvRopeReference(dims, xs, wqs, wks, wvs, qns, kns, seq, position, 1e-6, 1e6);
const gpu = [await readFloat(q), await readFloat(k), await readFloat(v)];
const cpu = [ref.q, ref.k, ref.v];
let err = 0;
for (let t = 0; t < 3; t++) {
  const [g, c] = [gpu[t] ?? [], cpu[t] ?? []];
  for (let i = 0; i < c.length; i++) err = Math.max(err, Math.abs((g[i] ?? NaN) - (c[i] ?? NaN)) / (1 + Math.abs(c[i] ?? NaN)));
}
console.log(`${ctx.describe()}\nqkv-rope: max |gpu - cpu| / (1 + |cpu|) = ${err.toExponential(2)}`);
ctx.destroy();
if (!(err <= 1e-5)) throw new Error('qkv-rope: the GPU disagrees with the float64 reference');
