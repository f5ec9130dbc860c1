/**
 * Spreads `count` workgroups over x and y so that no dimension exceeds the device limit (65535 by default).
 * Shaders recover the linear index as `wid.x + wid.y * nwg.x` and ignore indices ≥ count (the last row of the
 * grid may be partly empty).
 */
export function dispatchGrid(count: number, maxPerDimension: number): [number, number, number] {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`workgroup count must be a non-negative integer, got ${count}`);
  if (count <= maxPerDimension) return [count, 1, 1];
  const y = Math.ceil(count / maxPerDimension);
  if (y > maxPerDimension) throw new RangeError(`${count} workgroups exceed a ${maxPerDimension}² grid`);
  const x = Math.ceil(count / y);
  return [x, y, 1];
}
