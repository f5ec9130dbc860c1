// RMSNorm of 4 rows of 1024 bf16 values on the GPU, in f32, checked against a plain loop on the CPU.
import { createGpuContext, createTensor, readFloat, roundToDtype, uploadTensor } from '@qwen3-webgpu/tensor';
import { createRmsNormF32 } from '@qwen3-webgpu/rmsnorm-f32';

const [rows, n, eps] = [4, 1024, 1e-6];
const x32 = new Float32Array(rows * n).map((_, i) => Math.sin(i) * 3);
const w32 = new Float32Array(n).map((_, i) => 1 + Math.cos(i) / 2);
const [xs, ws] = [roundToDtype(x32, 'bf16'), roundToDtype(w32, 'bf16')]; // the values bf16 stores
const ctx = await createGpuContext();
const x = uploadTensor(ctx, [rows, n], 'bf16', xs); // x: [rows, n] bf16
const w = uploadTensor(ctx, [n], 'bf16', ws); // w: [n] bf16
const y = createTensor(ctx, [rows, n], 'f32'); // y: [rows, n] f32
const norm = createRmsNormF32(ctx, { n, eps });
await ctx.run((pass) => norm.encode(pass, { x, w, y, rows }));
const gpu = await readFloat(y);
let err = 0;
for (let r = 0; r < rows; r++) {
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (xs[r * n + i] ?? NaN) ** 2;
  const inv = 1 / Math.sqrt(ss / n + eps);
  for (let i = 0; i < n; i++) err = Math.max(err, Math.abs((gpu[r * n + i] ?? NaN) - (xs[r * n + i] ?? NaN) * inv * (ws[i] ?? NaN)));
}
console.log(`${ctx.describe()}\nrmsnorm-f32: max |gpu - cpu| = ${err.toExponential(2)}`);
ctx.destroy();
if (!(err <= 1e-5)) throw new Error('rmsnorm-f32: the GPU disagrees with the CPU loop');
