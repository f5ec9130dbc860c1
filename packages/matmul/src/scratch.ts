import { createTensor, type GpuContext, type Tensor } from '@qwen3-webgpu/tensor';

/**
 * Scratch buffers shared by every GEMM handle of a context, one per purpose (the split of x, partial sums, …).
 * A model makes a handle per projection per layer; per-handle scratch would multiply by the layer count (28 × a few
 * MB at 512 rows for Qwen3-0.6B). Sharing is safe because a queue runs dispatches in order and WebGPU puts the
 * barriers between a dispatch that reads a buffer and the next one that writes it.
 */
export interface SharedScratch {
  /** A u32 buffer of at least `elements` for this purpose; grows in powers of two, at least 1024 elements. */
  get(purpose: string, elements: number): Tensor;
  /** The handle is done; the buffers are destroyed when the last handle of the context releases. */
  release(): void;
}

interface Pool {
  users: number;
  current: Map<string, Tensor>;
  /** Every buffer ever made, current or superseded: a pass recorded earlier may still read a superseded one. */
  all: Tensor[];
}

const pools = new WeakMap<GpuContext, Pool>();

export function acquireScratch(ctx: GpuContext): SharedScratch {
  let pool = pools.get(ctx);
  if (!pool) pools.set(ctx, (pool = { users: 0, current: new Map(), all: [] }));
  const p = pool;
  p.users++;
  let released = false;
  return {
    get(purpose, elements) {
      if (released) throw new Error('gemm: scratch used after destroy()');
      const have = p.current.get(purpose);
      if (have && have.numel >= elements) return have;
      let cap = 1024;
      while (cap < elements) cap *= 2;
      const t = createTensor(ctx, [cap], 'u32', { label: `gemm ${purpose}` });
      p.current.set(purpose, t);
      p.all.push(t);
      return t;
    },
    release() {
      if (released) return;
      released = true;
      if (--p.users > 0) return;
      for (const t of p.all.splice(0)) t.destroy();
      p.current.clear();
      pools.delete(ctx);
    },
  };
}
