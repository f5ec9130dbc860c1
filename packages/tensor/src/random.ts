/** A small seeded generator (mulberry32) so tests can print their seed and be replayed exactly. */
export interface Rng {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  uniform(lo: number, hi: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  int(lo: number, hiExclusive: number): number;
  /** Float32Array [n] of normal(0, scale) values. */
  normalArray(n: number, scale?: number): Float32Array;
}

/** seed: an integer in [0, 2^32) — the whole state; larger seeds would wrap onto smaller ones, so they are refused. */
export function createRng(seed: number = (Math.random() * 2 ** 32) >>> 0): Rng {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new RangeError(`seed must be an integer in [0, 4294967295] (the generator's state is 32 bits), got ${seed}`);
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const normal = (): number => {
    const u = 1 - next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  };
  return {
    seed,
    next,
    normal,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo)),
    normalArray(n, scale = 1) {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = normal() * scale;
      return a;
    },
  };
}
