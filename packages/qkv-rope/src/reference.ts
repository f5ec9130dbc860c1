import { reference } from '@qwen3-webgpu/tensor';

export interface QkvDims {
  hidden: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
}

/**
 * The specification in float64, on inputs already rounded to their stored dtypes:
 *   q = RoPE(RMSNorm_hd(x·Wqᵀ) · q_norm), k = RoPE(RMSNorm_hd(x·Wkᵀ) · k_norm), v = x·Wvᵀ
 * x [seq, hidden]; Wq [nh·hd, hidden]; Wk, Wv [nkv·hd, hidden]; q_norm, k_norm [hd]; rows at positions pos0 + row.
 * Returns q [seq, nh, hd], k and v [seq, nkv, hd].
 */
export function qkvRopeReference(
  d: QkvDims,
  x: ArrayLike<number>,
  wq: ArrayLike<number>,
  wk: ArrayLike<number>,
  wv: ArrayLike<number>,
  qNorm: ArrayLike<number>,
  kNorm: ArrayLike<number>,
  seq: number,
  pos0: number,
  eps: number,
  theta: number,
): { q: Float64Array; k: Float64Array; v: Float64Array } {
  const raw = qkvProjections(d, x, wq, wk, wv, seq);
  return { ...normRope(d, raw.q, raw.k, qNorm, kNorm, seq, pos0, eps, theta), v: raw.v };
}

/** The three projections alone (position-independent; tests reuse them across positions). */
export function qkvProjections(d: QkvDims, x: ArrayLike<number>, wq: ArrayLike<number>, wk: ArrayLike<number>, wv: ArrayLike<number>, seq: number) {
  return {
    q: reference.matmulT(x, wq, seq, d.numHeads * d.headDim, d.hidden),
    k: reference.matmulT(x, wk, seq, d.numKvHeads * d.headDim, d.hidden),
    v: reference.matmulT(x, wv, seq, d.numKvHeads * d.headDim, d.hidden),
  };
}

/** QK-norm and RoPE of raw projections q [seq, nh, hd], k [seq, nkv, hd]. */
export function normRope(
  d: QkvDims,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  qNorm: ArrayLike<number>,
  kNorm: ArrayLike<number>,
  seq: number,
  pos0: number,
  eps: number,
  theta: number,
) {
  const positions = Array.from({ length: seq }, (_, i) => pos0 + i);
  const one = (raw: ArrayLike<number>, w: ArrayLike<number>, heads: number) =>
    reference.rope(reference.rmsnorm(raw, w, seq * heads, d.headDim, eps), positions, seq, heads, d.headDim, theta);
  return { q: one(q, qNorm, d.numHeads), k: one(k, kNorm, d.numKvHeads) };
}
