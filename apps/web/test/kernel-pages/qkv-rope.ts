// @qwen3-webgpu/qkv-rope in a browser page, from its packed tarball: QKV projections + per-head q/k RMSNorm + RoPE
// against qkvRopeReference (float64), Qwen3-0.6B's shapes and a GQA 5:1 one, decode and prefill rows, far positions.
import { createGpuContext, createRng, createTensor, fillTensor, readFloat, roundToDtype, uploadTensor } from '@qwen3-webgpu/tensor';
import { createQkvRope, qkvRopeReference, type QkvDims } from '@qwen3-webgpu/qkv-rope';
import { check, report, type Check } from './report.ts';

const EPS = 1e-6;
const THETA = 1e6;
const rng = createRng();
report('qkv-rope', rng.seed, async () => {
  const ctx = await createGpuContext();
  const checks: Check[] = [];
  const cases: [QkvDims, 'bf16' | 'f32', number, number][] = [
    [{ hidden: 1024, numHeads: 16, numKvHeads: 8, headDim: 128 }, 'bf16', 1, 4095], // Qwen3-0.6B decode
    [{ hidden: 1024, numHeads: 16, numKvHeads: 8, headDim: 128 }, 'bf16', 7, 0], // prefill rows
    [{ hidden: 320, numHeads: 5, numKvHeads: 1, headDim: 64 }, 'f32', 3, 40000],
  ];
  for (const [d, dtype, seq, position] of cases) {
    const scale = 1 / Math.sqrt(d.hidden);
    const w = (rows: number) =>
      roundToDtype(
        Float32Array.from({ length: rows * d.hidden }, () => rng.uniform(-1.7, 1.7) * scale),
        dtype,
      );
    const norm = () =>
      roundToDtype(
        Float32Array.from({ length: d.headDim }, () => rng.uniform(0.6, 1.4)),
        dtype,
      );
    const host = {
      x: rng.normalArray(seq * d.hidden),
      wq: w(d.numHeads * d.headDim),
      wk: w(d.numKvHeads * d.headDim),
      wv: w(d.numKvHeads * d.headDim),
      qNorm: norm(),
      kNorm: norm(),
    };
    for (let i = 0; i < d.headDim; i += 7) host.kNorm[i]! *= 40; // Qwen3's large k_norm channels
    host.kNorm.set(roundToDtype(host.kNorm, dtype));
    const gpu = {
      x: uploadTensor(ctx, [seq, d.hidden], 'f32', host.x),
      wq: uploadTensor(ctx, [d.numHeads * d.headDim, d.hidden], dtype, host.wq),
      wk: uploadTensor(ctx, [d.numKvHeads * d.headDim, d.hidden], dtype, host.wk),
      wv: uploadTensor(ctx, [d.numKvHeads * d.headDim, d.hidden], dtype, host.wv),
      qNorm: uploadTensor(ctx, [d.headDim], dtype, host.qNorm),
      kNorm: uploadTensor(ctx, [d.headDim], dtype, host.kNorm),
    };
    const q = createTensor(ctx, [seq, d.numHeads, d.headDim], 'f32');
    const k = createTensor(ctx, [seq, d.numKvHeads, d.headDim], 'f32');
    const v = createTensor(ctx, [seq, d.numKvHeads, d.headDim], 'f32');
    for (const t of [q, k, v]) fillTensor(t, NaN);
    const op = createQkvRope(ctx, { ...d, eps: EPS, ropeTheta: THETA, maxPositions: position + seq });
    await ctx.run((pass) => op.encode(pass, { ...gpu, q, k, v, seq, position }));
    const want = qkvRopeReference(d, host.x, host.wq, host.wk, host.wv, host.qNorm, host.kNorm, seq, position, EPS, THETA);
    const label = `hidden ${d.hidden}, ${d.numHeads}/${d.numKvHeads} heads × ${d.headDim}, ${dtype}, seq ${seq} at ${position}`;
    // The package's bound (qkv-rope.test.ts): relative L2 ≤ 1e-5 per output.
    checks.push(check(`q: ${label}`, await readFloat(q), want.q, 1e-5, 1e-5));
    checks.push(check(`k: ${label}`, await readFloat(k), want.k, 1e-5, 1e-5));
    checks.push(check(`v: ${label}`, await readFloat(v), want.v, 1e-5, 1e-5));
    for (const t of [...Object.values(gpu), q, k, v]) t.destroy();
  }
  const adapter = ctx.describe();
  ctx.destroy();
  return { adapter, checks };
});
