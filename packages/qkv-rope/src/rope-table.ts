import { createTensor, writeTensor, type GpuContext, type Tensor } from '@qwen3-webgpu/tensor';

/**
 * cos/sin of pos · theta^(−2i/hd) for pos < positions, i < hd/2, computed in float64 and rounded once to f32:
 * [positions, hd/2, 2]. Exact angles even at position 40960 with theta 1e6, where an f32 product pos · inv_freq
 * is off by up to 2e-3 rad.
 */
export function ropeTableHost(headDim: number, theta: number, positions: number): Float32Array {
  const half = headDim / 2;
  const table = new Float32Array(positions * half * 2);
  const invFreq = Array.from({ length: half }, (_, i) => theta ** ((-2 * i) / headDim));
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * invFreq[i]!;
      table[(p * half + i) * 2] = Math.cos(angle);
      table[(p * half + i) * 2 + 1] = Math.sin(angle);
    }
  }
  return table;
}

const tables = new WeakMap<GpuContext, Map<string, Tensor>>();

/** The GPU table for (headDim, theta, positions), built once per context. */
export function ropeTable(ctx: GpuContext, headDim: number, theta: number, positions: number): Tensor {
  let perCtx = tables.get(ctx);
  if (!perCtx) tables.set(ctx, (perCtx = new Map()));
  const key = `${headDim}/${theta}/${positions}`;
  let t = perCtx.get(key);
  if (!t || t.destroyed) {
    t = createTensor(ctx, [positions, headDim / 2, 2], 'f32', { label: `rope table ${key}` });
    writeTensor(t, ropeTableHost(headDim, theta, positions));
    perCtx.set(key, t);
  }
  return t;
}
