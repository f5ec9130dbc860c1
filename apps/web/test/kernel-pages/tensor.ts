// @qwen3-webgpu/tensor in a browser page, from its packed tarball: a kernel defined with defineKernel (row sums with
// a workgroup reduction) against reference.rowSum, and the dtype codecs through GPU buffers against roundToDtype.
import {
  createGpuContext,
  createRng,
  createTensor,
  defineKernel,
  defineUniforms,
  fillTensor,
  readFloat,
  reference,
  roundToDtype,
  uploadTensor,
} from '@qwen3-webgpu/tensor';
import { check, checkSums, report, type Check } from './report.ts';

const ROW_SUM = /* wgsl */ `
struct Params { rows: u32, n: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;        // [rows, n]
@group(0) @binding(1) var<storage, read_write> y: array<f32>;   // [rows]
@group(0) @binding(2) var<uniform> params: Params;
var<workgroup> partial: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x;
  var s = 0.0;
  for (var i = lid; i < params.n; i += 64u) { s += x[r * params.n + i]; }
  partial[lid] = s;
  workgroupBarrier();
  for (var stride = 32u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { y[r] = partial[0]; }
}`;

const rng = createRng();
report('tensor', rng.seed, async () => {
  const ctx = await createGpuContext();
  const checks: Check[] = [];
  const rowSum = defineKernel({
    label: 'row_sum',
    code: ROW_SUM,
    bindings: { x: 'read', y: 'read_write' },
    uniforms: defineUniforms({ rows: 'u32', n: 'u32' }),
  });
  for (const [rows, n] of [
    [1, 1024],
    [7, 1000],
    [3, 4099],
    [16, 3072],
  ] as const) {
    const host = rng.normalArray(rows * n);
    const x = uploadTensor(ctx, [rows, n], 'f32', host);
    const y = createTensor(ctx, [rows], 'f32');
    fillTensor(y, NaN);
    await ctx.run((pass) => rowSum.compile(ctx).encode(pass, { x, y }, { rows, n }, rows));
    // f32 sums of n terms (strided per lane, then a tree): error ≤ (n/lanes + log2 lanes)·2^-24·Σ|x| vs the f64 sum.
    const absSums = reference.rowSum(host.map(Math.abs), rows, n);
    checks.push(checkSums(`row sums [${rows}, ${n}] f32`, await readFloat(y), reference.rowSum(host, rows, n), absSums, 1e-5));
    x.destroy();
    y.destroy();
  }
  for (const dtype of ['bf16', 'f16', 'f32'] as const) {
    const host = Float32Array.from({ length: 1001 }, () => rng.uniform(-3, 3) * 2 ** rng.int(-8, 8));
    const t = uploadTensor(ctx, [1001], dtype, host);
    // Stored values must read back exactly as the host rounding says (bound 0).
    checks.push(check(`${dtype} upload → readback [1001] (exact)`, await readFloat(t), roundToDtype(host, dtype), 0));
    t.destroy();
  }
  const adapter = ctx.describe();
  ctx.destroy();
  return { adapter, checks };
});
