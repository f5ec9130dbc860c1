// QKVRoPE benchmark with Qwen3-0.6B dims (hidden 1024, 16 q heads, 8 kv heads, head_dim 128), bf16 weights.
// Checks each path against the float64 reference first, then times it:
//   decode (seq 1): GB/s over the weight bytes vs this run's copy bandwidth;
//   prefill (seq 512 by default): achieved TFLOP/s (2 · seq · (nh + 2·nkv) · hd · hidden).
//   pnpm --filter @qwen3-webgpu/qkv-rope bench [-- --seq 512 --position 1000 --json out.json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  createGpuContext,
  createRng,
  createTensor,
  measureCopyBandwidth,
  readFloat,
  reference,
  roundToDtype,
  timeGpu,
  uploadTensor,
} from '@qwen3-webgpu/tensor';
import { createQkvRope, qkvRopeReference, type QkvDims } from '../src/index.ts';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    seq: { type: 'string', default: '512' },
    position: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'string' },
  },
});
const seq = Number(values.seq);
const position = Number(values.position);
const d: QkvDims = { hidden: 1024, numHeads: 16, numKvHeads: 8, headDim: 128 };
const rows = d.numHeads * d.headDim + 2 * d.numKvHeads * d.headDim;

const ctx = await createGpuContext({ dawnFlags: ['disable-dawn-features=timestamp_quantization'] });
console.log(`adapter: ${ctx.describe()}`);
const copy = await measureCopyBandwidth(ctx);
console.log(`copy bandwidth: ${copy.gbps.toFixed(0)} GB/s (${copy.timing.method})`);

const rng = createRng(99);
const bf16 = (n: number, scale: number) =>
  roundToDtype(
    Float32Array.from({ length: n }, () => rng.uniform(-1.7, 1.7) * scale),
    'bf16',
  );
const host = {
  x: rng.normalArray(seq * d.hidden),
  wq: bf16(d.numHeads * d.headDim * d.hidden, 1 / 32),
  wk: bf16(d.numKvHeads * d.headDim * d.hidden, 1 / 32),
  wv: bf16(d.numKvHeads * d.headDim * d.hidden, 1 / 32),
  qNorm: roundToDtype(
    Float32Array.from({ length: d.headDim }, () => rng.uniform(0.6, 1.4)),
    'bf16',
  ),
  kNorm: roundToDtype(
    Float32Array.from({ length: d.headDim }, (_, i) => (i % 7 === 0 ? 40 : 1) * rng.uniform(0.6, 1.4)),
    'bf16',
  ),
};
const gpu = {
  x: uploadTensor(ctx, [seq, d.hidden], 'f32', host.x),
  wq: uploadTensor(ctx, [d.numHeads * d.headDim, d.hidden], 'bf16', host.wq),
  wk: uploadTensor(ctx, [d.numKvHeads * d.headDim, d.hidden], 'bf16', host.wk),
  wv: uploadTensor(ctx, [d.numKvHeads * d.headDim, d.hidden], 'bf16', host.wv),
  qNorm: uploadTensor(ctx, [d.headDim], 'bf16', host.qNorm),
  kNorm: uploadTensor(ctx, [d.headDim], 'bf16', host.kNorm),
};
const op = createQkvRope(ctx, { ...d, maxPositions: position + seq });
const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
const results: Record<string, unknown>[] = [];
let failed = false;

for (const [path, n] of [
  ['decode', 1],
  ['decode-split', 1],
  ['prefill', seq],
] as const) {
  const q = createTensor(ctx, [n, d.numHeads, d.headDim], 'f32');
  const k = createTensor(ctx, [n, d.numKvHeads, d.headDim], 'f32');
  const v = createTensor(ctx, [n, d.numKvHeads, d.headDim], 'f32');
  const args = { ...gpu, q, k, v, seq: n, position, path };
  await ctx.run((pass) => op.encode(pass, args));
  const want = qkvRopeReference(d, host.x.subarray(0, n * d.hidden), host.wq, host.wk, host.wv, host.qNorm, host.kNorm, n, position, 1e-6, 1e6);
  const errs = {
    q: reference.relativeL2(await readFloat(q), want.q),
    k: reference.relativeL2(await readFloat(k), want.k),
    v: reference.relativeL2(await readFloat(v), want.v),
  };
  const ok = Object.values(errs).every((e) => e <= 1e-5);
  failed ||= !ok;
  const ms: number[] = [];
  for (let r = 0; r < Number(values.rounds); r++) {
    ms.push((await timeGpu(ctx, (pass) => op.encode(pass, args), { repeats: path === 'prefill' ? 10 : 200, trials: 11, warmupMs: 100 })).ms);
  }
  const t = median(ms);
  const weightBytes = rows * d.hidden * 2;
  const flops = 2 * n * rows * d.hidden;
  results.push({
    path,
    seq: n,
    ms: t,
    weightGbps: weightBytes / (t * 1e6),
    pctCopy: (100 * weightBytes) / (t * 1e6) / copy.gbps,
    tflops: flops / (t * 1e9),
    relL2: errs,
    ok,
  });
  for (const tn of [q, k, v]) tn.destroy();
}

console.log(
  `\nQKVRoPE, Qwen3-0.6B dims, bf16 weights (${((rows * d.hidden * 2) / 2 ** 20).toFixed(0)} MiB), position ${position}, on ${ctx.info.description || ctx.info.device}; copy ${copy.gbps.toFixed(0)} GB/s`,
);
console.log('        path   seq        ms   weight GB/s  %copy  TFLOP/s  check (relative L2 q / k / v)');
for (const r of results) {
  const e = r.relL2 as { q: number; k: number; v: number };
  console.log(
    `${String(r.path).padStart(12)} ${String(r.seq).padStart(5)} ${(r.ms as number).toFixed(4).padStart(9)} ${(r.weightGbps as number).toFixed(0).padStart(13)} ${(r.pctCopy as number).toFixed(1).padStart(6)} ${(r.tflops as number).toFixed(2).padStart(8)}  ` +
      `${r.ok ? 'ok' : 'FAIL'} (${e.q.toExponential(1)} / ${e.k.toExponential(1)} / ${e.v.toExponential(1)})`,
  );
}
if (values.json) writeFileSync(values.json, JSON.stringify({ adapter: ctx.describe(), copyGbps: copy.gbps, results }, null, 2));
ctx.destroy();
if (failed) {
  console.error('qkv-rope bench: a correctness check failed');
  process.exitCode = 1;
}
