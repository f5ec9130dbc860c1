// What gemm.bench.ts (lavapipe, any adapter) and device-check.ts (the H200) share: the benchmark shapes, timing a
// GEMM handle, the measured tensor-core ceiling, a table printer.
import {
  createRng,
  createTensor,
  defineKernel,
  defineUniforms,
  DispatchList,
  timeGpu,
  uploadTensor,
  type GpuContext,
  type TimingOptions,
} from '@qwen3-webgpu/tensor';
import { createGemm, subgroupMatrixSplitK, type Gemm, type GemmArgs, type GemmOptions, type GemmPath } from '../src/index.ts';
import { f16ExactWeights, randomRows, storeCaseWeights } from '../src/gemm.test-helpers.ts';
import peakSource from './mma-peak.wgsl';

/** Issue #14's shapes: [rows, k] · [n, k]ᵀ. */
export const BENCH_SHAPES = [
  { rows: 512, k: 1024, n: 4096 },
  { rows: 512, k: 1024, n: 3072 },
  { rows: 512, k: 3072, n: 1024 },
] as const;

export interface GemmTiming {
  label: string;
  rows: number;
  n: number;
  k: number;
  path: string;
  ms: number;
  /** Useful TFLOP/s: 2·rows·n·k (·2 for swiglu) per second. */
  tflops: number;
}

/** A handle and fresh random data for it (weights prepared), freed after `body`. */
async function withGemm<T>(
  ctx: GpuContext,
  options: GemmOptions,
  rows: number,
  storeF16: boolean,
  body: (gemm: Gemm, args: GemmArgs) => Promise<T>,
): Promise<T> {
  const { n, k } = options;
  const rng = createRng(7);
  const x = uploadTensor(ctx, [rows, k], 'f32', randomRows(rng, rows, k));
  const draw = () => (storeF16 ? f16ExactWeights(rng, n * k) : rng.normalArray(n * k, 0.05));
  const w = uploadTensor(ctx, [n, k], options.wDtype, draw());
  const w2 = options.swiglu ? uploadTensor(ctx, [n, k], options.wDtype, draw()) : undefined;
  const y = createTensor(ctx, [rows, n], 'f32');
  const gemm = createGemm(ctx, options);
  try {
    // storeF16: W (and W2) stored as f16 fragments first, as a model stores its weights.
    const [wIn, w2In] = storeF16 ? await storeCaseWeights(ctx, w, w2) : [w, w2];
    await gemm.prepare(wIn, w2In);
    return await body(gemm, { x, w: wIn, ...(w2In ? { w2: w2In } : {}), y, rows });
  } finally {
    gemm.destroy();
    for (const tensor of [x, w, w2, y]) tensor?.destroy();
  }
}

const flopsOf = (options: GemmOptions, rows: number) => 2 * rows * options.n * options.k * (options.swiglu ? 2 : 1);

/** Times one GEMM handle on fresh random bf16 data; says which path each part ran. */
export async function timeGemm(ctx: GpuContext, label: string, options: GemmOptions, rows: number, timing: TimingOptions): Promise<GemmTiming> {
  return withGemm(ctx, options, rows, false, async (gemm, args) => {
    let paths: GemmPath[] = [];
    const t = await timeGpu(
      ctx,
      (pass) => {
        paths = gemm.encode(pass, args);
      },
      timing,
    );
    const { n, k } = options;
    return { label, rows, n, k, path: [...new Set(paths)].join('+'), ms: t.ms, tflops: flopsOf(options, rows) / (t.ms * 1e9) };
  });
}

export interface GemmStageTiming extends GemmTiming {
  /** The tile the handle resolved to, with the k split it ran ('presplit 2x2/1x1', 'f16w 2x2/2x2 split-k 4', 'fma'). */
  tile: string;
  /**
   * Median ms of each kind of dispatch of one call replayed alone ('split x', 'W to f16', 'gemm', 'split-k sum' (the
   * reduce of a k split), …), in call order.
   */
  stages: { stage: string; ms: number }[];
  /** TFLOP/s of the GEMM proper: its dispatch and, with a k split, the reduce that finishes it (without the split of x and the conversion of W). */
  kernelTflops: number;
}

/**
 * Times one call as prefill pays it (ms, tflops: every dispatch of the call) and each kind of its dispatches alone
 * (stages): one call recorded into a DispatchList, replayed whole and by tag (DispatchList.select).
 */
export async function timeGemmStages(
  ctx: GpuContext,
  label: string,
  options: GemmOptions,
  rows: number,
  timing: TimingOptions,
  storeF16 = false,
): Promise<GemmStageTiming> {
  return withGemm(ctx, options, rows, storeF16, async (gemm, args) => {
    const list = new DispatchList(ctx, `time ${label}`);
    try {
      const paths = gemm.encode(list, { ...args, tag: 'gemm' });
      const whole = await timeGpu(ctx, (pass) => list.encode(pass), timing);
      const stages: { stage: string; ms: number }[] = [];
      for (const tag of new Set(list.describe().map((d) => d.tag))) {
        const picked = list.select((t) => t === tag);
        stages.push({ stage: tag === 'gemm' ? 'gemm' : tag.replace(/^gemm /, ''), ms: (await timeGpu(ctx, (pass) => picked.encode(pass), timing)).ms });
      }
      const { n, k } = options;
      const flops = flopsOf(options, rows);
      const kernelMs = (stages.find((s) => s.stage === 'gemm')?.ms ?? Number.NaN) + (stages.find((s) => s.stage === 'split-k sum')?.ms ?? 0);
      const t = gemm.subgroupMatrixTile;
      const split = t ? subgroupMatrixSplitK(t, rows, n, k) : 1;
      return {
        label,
        rows,
        n,
        k,
        path: [...new Set(paths)].join('+'),
        ms: whole.ms,
        tflops: flops / (whole.ms * 1e9),
        tile: t ? `${t.variant} ${t.sgM}x${t.sgN}/${t.tm}x${t.tn}${split > 1 ? ` split-k ${split}` : ''}` : 'fma',
        stages,
        kernelTflops: flops / (kernelMs * 1e9),
      };
    } finally {
      list.destroy();
    }
  });
}

/** TFLOP/s of a pure subgroup-matrix multiply-accumulate loop (no memory traffic): the ceiling from WGSL. */
export async function measureMmaPeak(ctx: GpuContext, subgroupSize: number): Promise<{ tflops: number; ms: number }> {
  const kernel = defineKernel({
    label: 'mma peak',
    code: peakSource,
    bindings: { src: 'read', dst: 'read_write' },
    uniforms: defineUniforms({ iters: 'u32' }),
  }).compile(ctx, { THREADS: 4 * subgroupSize, SUBGROUP: subgroupSize });
  const groups = 4096;
  const iters = 2048;
  const src = uploadTensor(
    ctx,
    [512],
    'f16',
    Float32Array.from({ length: 512 }, (_, i) => ((i % 13) - 6) / 64),
  );
  const dst = createTensor(ctx, [groups * 4 * 8 * 256], 'f32');
  try {
    const t = await timeGpu(ctx, (pass) => kernel.encode(pass, { src, dst }, { iters }, groups), { repeats: 3, trials: 7, warmupMs: 200 });
    const flops = groups * 4 * iters * 8 * 2 * 16 ** 3;
    return { tflops: flops / (t.ms * 1e9), ms: t.ms };
  } finally {
    src.destroy();
    dst.destroy();
  }
}

export function printTimings(title: string, rows: GemmTiming[], peak?: number): void {
  const pad = (s: string, w: number) => s.padStart(w);
  console.log(`\n${title}`);
  console.log(
    `${'variant'.padEnd(50)} ${pad('shape [rows,k]·[n,k]ᵀ', 24)} ${pad('path', 16)} ${pad('ms', 8)} ${pad('TFLOP/s', 8)}${peak ? ` ${pad('% peak', 7)}` : ''}`,
  );
  for (const r of rows) {
    const shape = `[${r.rows},${r.k}]·[${r.n},${r.k}]ᵀ`;
    console.log(
      `${r.label.padEnd(50)} ${pad(shape, 24)} ${pad(r.path, 16)} ${pad(r.ms.toFixed(4), 8)} ${pad(r.tflops.toFixed(2), 8)}${peak ? ` ${pad(((100 * r.tflops) / peak).toFixed(1), 7)}` : ''}`,
    );
  }
}

/** The stage timings: per call (what prefill pays), the GEMM dispatch alone, and each stage's ms. */
export function printStageTimings(title: string, rows: GemmStageTiming[]): void {
  const pad = (s: string, w: number) => s.padStart(w);
  console.log(`\n${title}`);
  console.log(
    `${'variant'.padEnd(40)} ${pad('shape [rows,k]·[n,k]ᵀ', 24)} ${pad('call ms', 8)} ${pad('TFLOP/s', 8)} ${pad('kernel TFLOP/s', 14)}  stages (ms, each alone)`,
  );
  for (const r of rows) {
    const shape = `[${r.rows},${r.k}]·[${r.n},${r.k}]ᵀ${r.label.endsWith('swiglu') ? ' swiglu' : ''}`;
    const stages = r.stages.map((s) => `${s.stage} ${s.ms.toFixed(4)}`).join(', ');
    console.log(
      `${r.label.padEnd(40)} ${pad(shape, 24)} ${pad(r.ms.toFixed(4), 8)} ${pad(r.tflops.toFixed(2), 8)} ${pad(r.kernelTflops.toFixed(2), 14)}  ${stages}`,
    );
  }
}
