// Parity verdicts: our run against an HF golden (layer summaries, top-20 logits, greedy ids with near-ties), and one
// backend against another (whole hidden states and logits).
import { reference } from '@qwen3-webgpu/tensor';
import type { Golden, LayerSummary } from './golden.ts';
import type { ModelRun } from './run-model.ts';

/** A greedy divergence right after a step whose reference top-2 margin is below this is a near-tie, not a failure. */
export const NEAR_TIE = 1e-3;

export interface LayerRow {
  layer: number;
  ours: number;
  ref: number;
  /** max(|Δrms| / rms, max |Δfirst8| / rms) for golden checks; relative L2 of the whole layer between backends. */
  relError: number;
  ok: boolean;
}

export interface GreedyVerdict {
  compared: number;
  matches: number;
  /** Index of the first differing id, or -1. */
  firstMismatch: number;
  nearTie: boolean;
  /** Why a run's continuation ended early (non-finite logits): a failure whatever the ids so far. */
  stopped?: string;
  ok: boolean;
}

export interface ParityReport {
  model: string;
  backend: string;
  device: string;
  against: string;
  tolerance: number;
  layers: LayerRow[];
  firstBadLayer: number;
  /** The first layer whose output (in our run) holds NaN or ±Inf, or -1. */
  nonFiniteFrom: number;
  logits: { maxAbsError: number; relError: number; ok: boolean };
  greedy: GreedyVerdict;
  /** HF's own run in the checkpoint dtype: how many of its greedy ids equal float32's (golden checks). */
  nativeDtype?: { dtype: string; matches: number; of: number };
  pass: boolean;
}

/** Summary of one row [hidden] as hf_golden.py makes it (float64). */
export function summarize(row: ArrayLike<number>): LayerSummary {
  let sq = 0;
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    sq += row[i]! * row[i]!;
    sum += row[i]!;
  }
  return { rms: Math.sqrt(sq / row.length), first8: Array.from({ length: Math.min(8, row.length) }, (_, i) => row[i]!), sum };
}

function greedyVerdict(
  ours: readonly number[],
  ref: readonly number[],
  margins: readonly number[] | undefined,
  limit: number,
  stopped: string | undefined,
): GreedyVerdict {
  const compared = Math.min(limit, ours.length, ref.length);
  let firstMismatch = -1;
  for (let i = 0; i < compared; i++) {
    if (ours[i] !== ref[i]) {
      firstMismatch = i;
      break;
    }
  }
  const matches = firstMismatch < 0 ? compared : firstMismatch;
  const nearTie = firstMismatch >= 0 && margins !== undefined && margins[firstMismatch]! < NEAR_TIE;
  if (stopped) return { compared, matches, firstMismatch, nearTie, stopped, ok: false };
  return { compared, matches, firstMismatch, nearTie, ok: firstMismatch < 0 || nearTie };
}

function finish(r: Omit<ParityReport, 'firstBadLayer' | 'nonFiniteFrom' | 'pass'>, run: ModelRun): ParityReport {
  const firstBadLayer = r.layers.findIndex((l) => !l.ok);
  const nonFiniteFrom = run.layers.findIndex((a) => !a.every(Number.isFinite));
  return { ...r, firstBadLayer, nonFiniteFrom, pass: firstBadLayer < 0 && r.logits.ok && r.greedy.ok };
}

export function compareToGolden(run: ModelRun, golden: Golden, tolerance: number, maxSteps = Number.POSITIVE_INFINITY): ParityReport {
  const h = run.config.hiddenSize;
  const vocab = run.config.vocabSize;
  const last = golden.prompt_ids.length - 1;
  const layers = golden.layers.map((ref, l) => {
    const ours = summarize(run.layers[l]!.subarray(last * h, (last + 1) * h));
    const scale = Math.max(ref.rms, Number.MIN_VALUE);
    const relError = Math.max(Math.abs(ours.rms - ref.rms) / scale, ...ref.first8.map((v, i) => Math.abs(ours.first8[i]! - v) / scale));
    return { layer: l, ours: ours.rms, ref: ref.rms, relError, ok: relError <= tolerance };
  });
  const row = run.logits.subarray(last * vocab, (last + 1) * vocab);
  let maxAbsError = 0;
  let maxRef = 0;
  for (const [id, v] of golden.last_logits_top) {
    maxAbsError = Math.max(maxAbsError, Math.abs(row[id]! - v));
    maxRef = Math.max(maxRef, Math.abs(v));
  }
  const relError = maxAbsError / Math.max(maxRef, Number.MIN_VALUE);
  const native = golden.native_dtype_greedy_ids;
  let nativeMatches = 0;
  while (nativeMatches < native.length && native[nativeMatches] === golden.greedy_ids[nativeMatches]) nativeMatches++;
  return finish(
    {
      model: golden.model,
      backend: run.backend,
      device: run.device,
      against: `HF transformers ${golden.transformers ?? ''} float32`.replace('  ', ' '),
      tolerance,
      layers,
      logits: { maxAbsError, relError, ok: relError <= tolerance },
      greedy: greedyVerdict(run.greedyIds, golden.greedy_ids, golden.greedy_margins, maxSteps, run.greedyStopped),
      nativeDtype: { dtype: golden.native_dtype ?? 'native', matches: nativeMatches, of: native.length },
    },
    run,
  );
}

/** The second run (usually webgpu) against the first (the float64 CPU backend): whole layers, all logits. */
export function compareRuns(ref: ModelRun, run: ModelRun, model: string, tolerance: number): ParityReport {
  const layers = ref.layers.map((r, l) => {
    const relError = reference.relativeL2(run.layers[l]!, r);
    return { layer: l, ours: summarize(run.layers[l]!).rms, ref: summarize(r).rms, relError, ok: relError <= tolerance };
  });
  const { maxAbsError } = reference.maxAbsError(run.logits, ref.logits);
  const relError = reference.relativeL2(run.logits, ref.logits);
  return finish(
    {
      model,
      backend: run.backend,
      device: run.device,
      against: `${ref.backend} backend (${ref.device})`,
      tolerance,
      layers,
      logits: { maxAbsError, relError, ok: relError <= tolerance },
      greedy: greedyVerdict(
        run.greedyIds,
        ref.greedyIds,
        ref.greedyMargins,
        Number.POSITIVE_INFINITY,
        run.greedyStopped ?? (ref.greedyStopped && `${ref.backend} backend: ${ref.greedyStopped}`),
      ),
    },
    run,
  );
}
