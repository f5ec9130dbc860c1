// Token selection, HF logits-processor semantics, in one place for both backends: the CPU backend calls
// sampleToken directly; the WebGPU kernel (kernels/sample.wgsl) computes the same thing and is tested against it.
//
// Order (HF): repetition penalty → presence penalty → temperature → top-k → top-p → min-p → draw.
//   repetition penalty r: a seen token's logit l becomes l / r if l > 0 else l · r
//   presence penalty a:   a seen token's logit loses a
//   top-k: keep logits ≥ the k-th largest (ties kept);  top-p: keep the most probable tokens whose mass reaches p
//   (ties at the boundary kept);  min-p: keep tokens with probability ≥ min_p · the largest probability
//   draw: inverse CDF in token-id order at u ∈ [0, 1)
// temperature 0 means greedy: the exact argmax (lowest id on ties), penalties still applied; so does a temperature
// below f32's smallest normal (2^-126), which the GPU cannot divide by.
// Penalized logits saturate at f32's largest finite value (the repetition-penalized logit, the presence penalty and
// their difference are each clamped to ±F32_MAX), so an extreme penalty picks the same token on both backends.

export interface SamplingOptions {
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  presencePenalty?: number;
}

export interface ResolvedSampling {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  presencePenalty: number;
}

/** Fills defaults (no-ops) and rejects values outside their ranges with messages naming the option. */
export function resolveSampling(o: SamplingOptions = {}): ResolvedSampling {
  const r = {
    temperature: o.temperature ?? 1,
    topK: o.topK ?? 0,
    topP: o.topP ?? 1,
    minP: o.minP ?? 0,
    repetitionPenalty: o.repetitionPenalty ?? 1,
    presencePenalty: o.presencePenalty ?? 0,
  };
  if (!Number.isFinite(r.temperature) || r.temperature < 0) throw new RangeError(`temperature must be ≥ 0, got ${r.temperature}`);
  if (!Number.isInteger(r.topK) || r.topK < 0) throw new RangeError(`top-k must be a non-negative integer, got ${r.topK}`);
  if (!(r.topP > 0 && r.topP <= 1)) throw new RangeError(`top-p must be in (0, 1], got ${r.topP}`);
  if (!(r.minP >= 0 && r.minP <= 1)) throw new RangeError(`min-p must be in [0, 1], got ${r.minP}`);
  if (!(r.repetitionPenalty > 0) || !Number.isFinite(r.repetitionPenalty)) throw new RangeError(`repetition penalty must be > 0, got ${r.repetitionPenalty}`);
  if (!Number.isFinite(r.presencePenalty)) throw new RangeError(`presence penalty must be finite, got ${r.presencePenalty}`);
  return r;
}

/** f32's largest finite value: penalized logits saturate there (see the header). */
export const F32_MAX = 3.4028234663852886e38;
/** f32's smallest normal: temperatures below it are greedy. */
export const F32_MIN_NORMAL = 2 ** -126;

const saturate = (x: number) => Math.min(F32_MAX, Math.max(-F32_MAX, x));

/** The penalized logit of token i (seen = it occurs in the context). */
export function penalize(logit: number, seen: boolean, s: ResolvedSampling): number {
  if (!seen) return logit;
  const l = logit > 0 ? logit / s.repetitionPenalty : logit * s.repetitionPenalty;
  return saturate(saturate(l) - saturate(s.presencePenalty));
}

/** Which tokens may be drawn, and their unnormalized weights exp(z − max z) (0 for excluded ones). */
export function allowedWeights(logits: ArrayLike<number>, seen: (i: number) => boolean, s: ResolvedSampling): Float64Array {
  const n = logits.length;
  const z = new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    z[i] = penalize(logits[i]!, seen(i), s) / s.temperature;
    if (z[i]! > max) max = z[i]!;
  }
  let keep = new Uint8Array(n).fill(1);
  if (s.topK > 0 && s.topK < n) {
    const kth = Float64Array.from(z).sort((a, b) => b - a)[s.topK - 1]!;
    for (let i = 0; i < n; i++) if (z[i]! < kth) keep[i] = 0;
  }
  const w = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) if (keep[i]) total += w[i] = Math.exp(z[i]! - max);
  if (s.topP < 1) {
    // The smallest probability θ such that the tokens with p ≥ θ carry at least top_p of the mass.
    const order = Array.from({ length: n }, (_, i) => i)
      .filter((i) => keep[i])
      .sort((a, b) => w[b]! - w[a]!);
    let mass = 0;
    let theta = 0;
    for (const i of order) {
      mass += w[i]!;
      theta = w[i]!;
      if (mass >= s.topP * total) break;
    }
    keep = keep.map((k, i) => (k && w[i]! >= theta ? 1 : 0));
  }
  if (s.minP > 0) {
    // Probabilities relative to the largest: the largest kept weight is exp(0) = 1.
    for (let i = 0; i < n; i++) if (keep[i] && w[i]! < s.minP) keep[i] = 0;
  }
  for (let i = 0; i < n; i++) if (!keep[i]) w[i] = 0;
  return w;
}

/** Draws a token from `logits` with uniform u ∈ [0, 1) (temperature 0: the penalized argmax). */
export function sampleToken(logits: ArrayLike<number>, seen: (i: number) => boolean, s: ResolvedSampling, u: number): number {
  if (s.temperature < F32_MIN_NORMAL) {
    let best = 0;
    let bestV = -Infinity;
    for (let i = 0; i < logits.length; i++) {
      const v = penalize(logits[i]!, seen(i), s);
      if (v > bestV) [best, bestV] = [i, v];
    }
    return best;
  }
  const w = allowedWeights(logits, seen, s);
  let total = 0;
  for (const v of w) total += v;
  const target = u * total;
  let acc = 0;
  let last = 0;
  for (let i = 0; i < w.length; i++) {
    if (w[i]! === 0) continue;
    acc += w[i]!;
    last = i;
    if (target < acc) return i;
  }
  return last;
}
