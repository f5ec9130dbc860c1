// Non-finite logits (NaN or ±Inf: overflowing weights or activations) end generation with an error that says so,
// on both backends, instead of a garbage or out-of-range token id.

/** What the GPU sample kernel writes instead of an id when the logits row holds NaN or ±Inf (sample.wgsl). */
export const NON_FINITE_ID = 0xffffffff;

export class NonFiniteLogitsError extends Error {
  override readonly name = 'NonFiniteLogitsError';
  constructor(
    /** The KV-cache position whose logits were not finite. */
    readonly position: number,
  ) {
    super(`the model produced non-finite logits (NaN or ±Inf) at position ${position}: its weights or activations overflow`);
  }
}

/** The id the GPU sampler returned, checked: throws NonFiniteLogitsError for the sentinel, and on any other id ≥ vocab. */
export function checkSampledId(id: number, vocab: number, position: number): number {
  if (id === NON_FINITE_ID) throw new NonFiniteLogitsError(position);
  if (id >= vocab) throw new Error(`internal error: the GPU sampler returned id ${id}, outside the vocabulary [0, ${vocab})`);
  return id;
}

/** Throws NonFiniteLogitsError when a logits row (CPU backend) holds NaN or ±Inf. */
export function checkFiniteRow(row: ArrayLike<number>, position: number): void {
  for (let i = 0; i < row.length; i++) {
    if (!Number.isFinite(row[i]!)) throw new NonFiniteLogitsError(position);
  }
}
