// y = x · Wᵀ for 37 rows of 300 f32 values against 130 bf16 weight rows, checked against a plain loop on the CPU.
// On a GPU offering subgroup matrices (Dawn flags below) it takes the tensor cores; elsewhere the tiled FMA kernel.
import { createGpuContext, createTensor, readFloat, roundToDtype, uploadTensor } from '@qwen3-webgpu/tensor';
import { createGemm } from '@qwen3-webgpu/matmul';

const [rows, n, k] = [37, 130, 300];
const xs = new Float32Array(rows * k).map((_, i) => Math.sin(i) * 2);
const ws = roundToDtype(
  new Float32Array(n * k).map((_, i) => Math.cos(i * 0.7) / 10),
  'bf16',
); // the values bf16 stores
const ctx = await createGpuContext({ dawnFlags: ['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia'] });
const x = uploadTensor(ctx, [rows, k], 'f32', xs); // x: [rows, k] f32
const w = uploadTensor(ctx, [n, k], 'bf16', ws); // W: [n, k] bf16
const y = createTensor(ctx, [rows, n], 'f32'); // y: [rows, n] f32
const gemm = createGemm(ctx, { n, k, wDtype: 'bf16' });
await gemm.prepare(w); // once per weight tensor: checks it is exact in f16 for the tensor-core path
const paths = new Set(['fma']); // the path each part took, as encode() reports it
await ctx.run((pass) => {
  paths.clear();
  for (const path of gemm.encode(pass, { x, w, y, rows })) paths.add(path);
});
const gpu = await readFloat(y);
let err = 0;
for (let r = 0; r < rows; r++) {
  for (let c = 0; c < n; c++) {
    let s = 0;
    for (let i = 0; i < k; i++) s += (xs[r * k + i] ?? NaN) * (ws[c * k + i] ?? NaN);
    err = Math.max(err, Math.abs((gpu[r * n + c] ?? NaN) - s) / (1 + Math.abs(s)));
  }
}
console.log(`${ctx.describe()}\nmatmul (${[...paths].join(', ')}): max |gpu - cpu| / (1 + |cpu|) = ${err.toExponential(2)}`);
ctx.destroy();
if (!(err <= 1e-5)) throw new Error('matmul: the GPU disagrees with the CPU loop');
