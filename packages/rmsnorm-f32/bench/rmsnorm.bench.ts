// RMSNormF32 benchmark: [rows, hidden] bf16 → f32 (bf16 weights). Checks correctness against the float64 reference
// first, then prints GPU time and GB/s against the same run's copy bandwidth; with --torch <file> (from
// tools/bench/rmsnorm_torch.py) also the ratios to HF's Qwen3RMSNorm and torch.nn.functional.rms_norm.
//   pnpm --filter @qwen3-webgpu/rmsnorm-f32 bench [-- --rows 1,512,4096,32768 --hidden 1024 --torch t.json --json out.json]
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  createGpuContext,
  createRng,
  createTensor,
  defineKernel,
  defineUniforms,
  measureCopyBandwidth,
  readFloat,
  roundToDtype,
  timeGpu,
  uploadTensor,
} from '@qwen3-webgpu/tensor';
import widenSource from './widen.wgsl';
import { createRmsNormF32, type ReductionPath, type RmsNormF32 } from '../src/index.ts';
import { compareWithReference, describeResult, withinBounds, type CaseResult } from '../src/rmsnorm.test-helpers.ts';

const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'), // pnpm passes a literal '--' through
  options: {
    rows: { type: 'string', default: '1,512,4096,32768' },
    hidden: { type: 'string', default: '1024' },
    torch: { type: 'string' },
    /** Also time every threadsPerRow × unroll pair of these lists (tuning), e.g. --tpr 16,32,64 --unroll 1,2,4. */
    tpr: { type: 'string', default: '' },
    unroll: { type: 'string', default: '' },
    wg: { type: 'string', default: '' },
    /** Timing rounds; every variant is timed once per round, round-robin, so clock drift hits all alike. */
    rounds: { type: 'string', default: '3' },
    json: { type: 'string' },
  },
});
const n = Number(values.hidden);
const rowList = values.rows.split(',').map(Number);
const torch = values.torch
  ? (JSON.parse(readFileSync(values.torch, 'utf8')) as { device: string; results: { rows: number; hf_ms: number; f_ms: number }[] })
  : undefined;

const ctx = await createGpuContext({ dawnFlags: ['disable-dawn-features=timestamp_quantization'] });
console.log(`adapter: ${ctx.describe()}`);
const copy = await measureCopyBandwidth(ctx);
console.log(`copy bandwidth: ${copy.gbps.toFixed(0)} GB/s (${(copy.bytes / 2 ** 20).toFixed(0)} MiB moved, ${copy.timing.method})`);

// Same bytes as the benchmark shape, no reduction: what this adapter can do for 2 bytes in, 4 bytes out.
const widen = defineKernel({
  label: 'widen_bf16_f32',
  code: widenSource,
  bindings: { x: 'read', y: 'read_write' },
  uniforms: defineUniforms({ vec_count: 'u32' }),
}).compile(ctx);

const rng = createRng(1234);
const paths: ReductionPath[] = ctx.features.subgroups ? ['subgroup', 'workgroup'] : ['workgroup'];
const rowsOut: Record<string, unknown>[] = [];
let failed = false;
for (const rows of rowList) {
  const xHost = rng.normalArray(rows * n);
  const wHost = Float32Array.from({ length: n }, () => 1 + 0.1 * rng.normal());
  const xs = roundToDtype(xHost, 'bf16');
  const ws = roundToDtype(wHost, 'bf16');
  const x = uploadTensor(ctx, [rows, n], 'bf16', xs);
  const w = uploadTensor(ctx, [n], 'bf16', ws);
  const y = createTensor(ctx, [rows, n], 'f32');
  const list = (v: string) => v.split(',').filter(Boolean).map(Number);
  const variants: { label: string; norm: RmsNormF32; ms: number[]; check?: CaseResult }[] = paths.map((path) => ({
    label: path,
    norm: createRmsNormF32(ctx, { n, eps: 1e-6, path }),
    ms: [],
  }));
  const orDefault = (l: number[]) => (l.length ? l : [undefined]);
  for (const tpr of orDefault(list(values.tpr))) {
    for (const unroll of orDefault(list(values.unroll))) {
      for (const workgroupSize of orDefault(list(values.wg))) {
        if (tpr === undefined && unroll === undefined && workgroupSize === undefined) continue;
        const opts = { ...(tpr ? { threadsPerRow: tpr } : {}), ...(unroll ? { unroll } : {}), ...(workgroupSize ? { workgroupSize } : {}) };
        variants.push({
          label: `${paths[0]}/${tpr ?? '-'}x${unroll ?? '-'}/${workgroupSize ?? 256}`,
          norm: createRmsNormF32(ctx, { n, eps: 1e-6, path: paths[0]!, ...opts }),
          ms: [],
        });
      }
    }
  }
  for (const v of variants) {
    await ctx.run((pass) => v.norm.encode(pass, { x, w, y, rows }));
    v.check = compareWithReference(await readFloat(y), xs, ws, rows, n, 1e-6);
    if (!withinBounds(v.check)) failed = true;
  }
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const v of variants) {
      const t = await timeGpu(ctx, (pass) => v.norm.encode(pass, { x, w, y, rows }), { repeats: rows <= 4096 ? 100 : 20, trials: 11, warmupMs: 100 });
      v.ms.push(t.ms);
    }
  }
  if (rows * n >= 1 << 20) {
    const vecCount = (rows * n) / 8;
    const widenMs: number[] = [];
    for (let round = 0; round < Number(values.rounds); round++) {
      widenMs.push(
        (
          await timeGpu(ctx, (pass) => widen.encode(pass, { x, y }, { vec_count: vecCount }, Math.ceil(vecCount / 256)), {
            repeats: 20,
            trials: 11,
            warmupMs: 100,
          })
        ).ms,
      );
    }
    const ms = median(widenMs);
    const gbps = (rows * n * 6) / (ms * 1e6);
    rowsOut.push({ rows, path: 'widen only', ms, gbps, pctCopy: (100 * gbps) / copy.gbps, check: 'traffic ceiling: bf16 → f32, no normalization', ok: true });
  }
  for (const v of variants) {
    const ms = median(v.ms);
    const bytes = rows * n * 2 + n * 2 + rows * n * 4;
    const gbps = bytes / (ms * 1e6);
    const ref = torch?.results.find((r) => r.rows === rows);
    rowsOut.push({
      rows,
      path: v.label,
      ms,
      gbps,
      pctCopy: (100 * gbps) / copy.gbps,
      check: describeResult(v.check!),
      ok: withinBounds(v.check!),
      ...(ref ? { hfMs: ref.hf_ms, fMs: ref.f_ms, vsHf: ref.hf_ms / ms, vsF: ref.f_ms / ms } : {}),
    });
  }
  x.destroy();
  w.destroy();
  y.destroy();
}

const pad = (s: string, k: number) => s.padStart(k);
console.log(
  `\nRMSNormF32 [rows, ${n}] bf16 → f32 on ${ctx.info.description || ctx.info.device} (${copy.timing.method}); copy ${copy.gbps.toFixed(0)} GB/s` +
    (torch ? `; torch on ${torch.device}` : ''),
);
console.log(
  `${pad('rows', 6)} ${pad('path', 13)} ${pad('ms', 9)} ${pad('GB/s', 7)} ${pad('%copy', 6)}${torch ? `${pad('HF ms', 9)} ${pad('xHF', 6)} ${pad('F ms', 9)} ${pad('xF', 6)}` : ''}  check`,
);
for (const r of rowsOut) {
  const f = (v: unknown, d: number) => (typeof v === 'number' ? v.toFixed(d) : '-');
  console.log(
    `${pad(String(r.rows), 6)} ${pad(String(r.path), 13)} ${pad(f(r.ms, 4), 9)} ${pad(f(r.gbps, 0), 7)} ${pad(f(r.pctCopy, 1), 6)}` +
      (torch ? `${pad(f(r.hfMs, 4), 9)} ${pad(f(r.vsHf, 2), 6)} ${pad(f(r.fMs, 4), 9)} ${pad(f(r.vsF, 2), 6)}` : '') +
      `  ${r.ok ? 'ok' : 'FAIL'} (${r.check})`,
  );
}
if (values.json) writeFileSync(values.json, JSON.stringify({ adapter: ctx.describe(), copyGbps: copy.gbps, torch, results: rowsOut }, null, 2));
ctx.destroy();
if (failed) {
  console.error('rmsnorm bench: a correctness check failed');
  process.exitCode = 1;
}
