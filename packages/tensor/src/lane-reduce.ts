import type { GpuContext } from './context.ts';
import subgroup from './lane-reduce/subgroup.wgsl';
import workgroup from './lane-reduce/workgroup.wgsl';

/**
 * WGSL `reduce_lanes(v, lid, lane, at)`: the sum over the LANES lanes of a group, for GEMV-like kernels (see the
 * .wgsl files for the contract). A kernel defines one module per variant; the subgroup one must open the module (it
 * carries `enable subgroups;`) and takes the override SG.
 */
export const laneReduceWgsl = { subgroup, workgroup } as const;

/** Which laneReduceWgsl variant fits `lanes` on this adapter, and the override constants it needs. */
export function laneReduceVariant(ctx: GpuContext, lanes: number): { variant: keyof typeof laneReduceWgsl; constants: Record<string, number> } {
  const sg = ctx.info.subgroupMinSize;
  if (ctx.features.subgroups && sg === ctx.info.subgroupMaxSize && sg >= 4 && lanes % sg === 0) return { variant: 'subgroup', constants: { SG: sg } };
  return { variant: 'workgroup', constants: {} };
}

/**
 * Lanes per output row of a decode GEMV over rows of `words` 16-byte words, n rows: start at 32 (≤ 4 loads each)
 * and widen while a lane would still load more than 4 words or the rows, widened, still fit ~1000 workgroups of 256 —
 * a decode GEMV is latency-bound unless nearly all of W is requested at once (H200: a 4 MB o_proj over 128
 * workgroups ran at 15 % of copy), and workgroups past what the GPU holds at once wait for a second round (H200: the
 * 12.6 MB gate/up pair over 1,536 workgroups 6.76 µs a dependent dispatch, over 768 6.42).
 */
export function gemvLanes(words: number, n: number): number {
  let lanes = 32;
  while (lanes < 256 && words >= 2 * lanes && (words > 4 * lanes || n / (128 / lanes) <= 1024)) lanes *= 2;
  return lanes;
}
