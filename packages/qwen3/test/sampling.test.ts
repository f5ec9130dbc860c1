import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, createTensor, readTensor, uploadTensor, type GpuContext } from '@qwen3-webgpu/tensor';
import { openTestContext } from '@qwen3-webgpu/tensor/testing';
import { createSampler } from '../src/kernels/index.ts';
import { checkSampledId, NON_FINITE_ID, NonFiniteLogitsError } from '../src/non-finite.ts';
import { allowedWeights, resolveSampling, sampleToken, type SamplingOptions } from '../src/sampling.ts';

const SEED = 20261125;
const never = () => false;

/** Draws `count` tokens with the reference sampler and a fixed seed; returns the counts per token. */
function draw(logits: Float32Array, options: SamplingOptions, count: number, seed = SEED): Uint32Array {
  const rng = createRng(seed);
  const s = resolveSampling(options);
  const counts = new Uint32Array(logits.length);
  for (let i = 0; i < count; i++) counts[sampleToken(logits, never, s, rng.next())]!++;
  return counts;
}

const logits = createRng(7).normalArray(50, 2);
const order = Array.from({ length: 50 }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]!);
const softmax = (l: ArrayLike<number>, t: number) => {
  const m = Math.max(...Array.from(l));
  const e = Array.from(l, (v) => Math.exp((v - m) / t));
  const s = e.reduce((a, b) => a + b);
  return e.map((v) => v / s);
};

describe('sampling semantics (reference, 10k draws, fixed seed)', () => {
  it('greedy is the exact argmax, lowest id on ties', () => {
    const s = resolveSampling({ temperature: 0 });
    expect(sampleToken(logits, never, s, 0.5)).toBe(order[0]);
    const tie = Float32Array.from([1, 3, 2, 3]);
    expect(sampleToken(tie, never, s, 0.9)).toBe(1);
  });

  it('top-k draws only from the k largest', () => {
    const counts = draw(logits, { topK: 5 }, 10_000);
    const drawn = new Set(Array.from(counts.keys()).filter((i) => counts[i]! > 0));
    expect([...drawn].sort()).toEqual(order.slice(0, 5).sort());
  });

  it('top-p draws only from the smallest set reaching the mass', () => {
    const p = softmax(logits, 1);
    let mass = 0;
    const nucleus: number[] = [];
    for (const i of order) {
      nucleus.push(i);
      mass += p[i]!;
      if (mass >= 0.8) break;
    }
    const counts = draw(logits, { topP: 0.8 }, 10_000);
    const drawn = Array.from(counts.keys()).filter((i) => counts[i]! > 0);
    expect(drawn.sort()).toEqual(nucleus.sort());
  });

  it('min-p draws only tokens with probability ≥ min_p · max', () => {
    const p = softmax(logits, 1);
    const allowed = order.filter((i) => p[i]! >= 0.1 * p[order[0]!]!);
    const counts = draw(logits, { minP: 0.1 }, 10_000);
    expect(
      Array.from(counts.keys())
        .filter((i) => counts[i]! > 0)
        .sort(),
    ).toEqual(allowed.sort());
  });

  it('temperature reshapes the distribution as softmax(l / T) predicts (within 5 σ)', () => {
    for (const t of [0.5, 1, 2]) {
      const p = softmax(logits, t);
      const counts = draw(logits, { temperature: t }, 10_000);
      for (const i of order.slice(0, 5)) {
        const sigma = Math.sqrt((p[i]! * (1 - p[i]!)) / 10_000);
        expect(Math.abs(counts[i]! / 10_000 - p[i]!), `T ${t}, token ${i}`).toBeLessThanOrEqual(5 * sigma + 1e-9);
      }
    }
    // Lower temperature concentrates mass on the top token.
    expect(draw(logits, { temperature: 0.5 }, 10_000)[order[0]!]!).toBeGreaterThan(draw(logits, { temperature: 2 }, 10_000)[order[0]!]!);
  });

  it('a fixed seed reproduces the draws; another seed does not', () => {
    expect(Array.from(draw(logits, { topK: 20 }, 500))).toEqual(Array.from(draw(logits, { topK: 20 }, 500)));
    expect(Array.from(draw(logits, { topK: 20 }, 500))).not.toEqual(Array.from(draw(logits, { topK: 20 }, 500, SEED + 1)));
  });

  it('repetition and presence penalties push seen tokens down', () => {
    const top = order[0]!;
    const seen = (i: number) => i === top;
    expect(sampleToken(logits, seen, resolveSampling({ temperature: 0, presencePenalty: 100 }), 0)).toBe(order[1]);
    const w = allowedWeights(logits, seen, resolveSampling({ repetitionPenalty: 1.5 }));
    const plain = allowedWeights(logits, never, resolveSampling({}));
    expect(w[top]! / w[order[1]!]!).toBeLessThan(plain[top]! / plain[order[1]!]!);
  });

  it('rejects out-of-range options, naming them', () => {
    expect(() => resolveSampling({ topP: 0 })).toThrow(/top-p must be in \(0, 1\]/);
    expect(() => resolveSampling({ topP: 1.5 })).toThrow(/top-p/);
    expect(() => resolveSampling({ temperature: -1 })).toThrow(/temperature must be ≥ 0/);
    expect(() => resolveSampling({ topK: 2.5 })).toThrow(/top-k must be a non-negative integer/);
    expect(() => resolveSampling({ minP: 2 })).toThrow(/min-p must be in \[0, 1\]/);
    expect(() => resolveSampling({ repetitionPenalty: 0 })).toThrow(/repetition penalty must be > 0/);
  });
});

// Both kernel layouts: sample.wgsl and argmax.wgsl run 64-thread workgroups on CPU adapters, 256 elsewhere.
describe.each(['cpu', 'gpu'] as const)('the GPU sampling kernel picks what the reference picks, %s layout', (layout) => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await openTestContext({ kernelLayout: layout });
  });
  afterAll(() => ctx?.destroy());

  const settings: SamplingOptions[] = [
    { temperature: 0 },
    { temperature: 0, repetitionPenalty: 1.3, presencePenalty: 0.5 },
    { temperature: 1 },
    { temperature: 0.7, topK: 40 },
    { temperature: 1.3, topP: 0.9 },
    { temperature: 1, minP: 0.05 },
    { temperature: 0.8, topK: 100, topP: 0.95, minP: 0.02, repetitionPenalty: 1.2, presencePenalty: 0.3 },
  ];
  it(`over ${settings.length} settings × 60 draws on a 1000-token vocabulary with seen tokens`, async () => {
    const n = 1000;
    const rng = createRng(SEED);
    const row = rng.normalArray(n, 3);
    const seenIds = new Set([3, 17, 400, 999, ...Array.from({ length: 20 }, () => rng.int(0, n))]);
    const seenArr = Uint32Array.from({ length: n }, (_, i) => (seenIds.has(i) ? 1 : 0));
    const logitsT = uploadTensor(ctx, [2, n], 'f32', Float32Array.from([...rng.normalArray(n), ...row]));
    const seenT = uploadTensor(ctx, [n], 'u32', seenArr);
    const out = createTensor(ctx, [1], 'u32');
    let mismatches = 0;
    for (const options of settings) {
      const s = resolveSampling(options);
      for (let d = 0; d < 60; d++) {
        const u = rng.next();
        await ctx.run((pass) => createSampler(ctx, n).encode(pass, { logits: logitsT, seen: seenT, out, rowOffset: n, sampling: s, u }));
        const got = (await readTensor(out))[0]!;
        const want = sampleToken(row, (i) => seenIds.has(i), s, u);
        if (got !== want) mismatches++;
        expect(got, `${JSON.stringify(options)} u ${u}`).toBeLessThan(n);
      }
    }
    // f32 on the GPU vs f64 in the reference: a draw landing within rounding of a CDF boundary may differ.
    expect(mismatches).toBeLessThanOrEqual(2);
    for (const t of [logitsT, seenT, out]) t.destroy();
  });
});

describe('extreme settings and non-finite logits: the GPU samplers (sampling and greedy) never leave the vocabulary', () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await openTestContext();
  });
  afterAll(() => ctx?.destroy());

  const n = 1000;
  async function gpuSample(row: Float32Array, seenIds: Set<number>, options: SamplingOptions, u: number): Promise<number> {
    const logitsT = uploadTensor(ctx, [n], 'f32', row);
    const seenT = uploadTensor(
      ctx,
      [n],
      'u32',
      Uint32Array.from({ length: n }, (_, i) => (seenIds.has(i) ? 1 : 0)),
    );
    const out = uploadTensor(ctx, [1], 'u32', Uint32Array.of(12345));
    const sampler = createSampler(ctx, n);
    try {
      await ctx.run((pass) => sampler.encode(pass, { logits: logitsT, seen: seenT, out, rowOffset: 0, sampling: resolveSampling(options), u }));
      return (await readTensor(out))[0]!;
    } finally {
      sampler.destroy();
      for (const t of [logitsT, seenT, out]) t.destroy();
    }
  }

  // Values the CLI accepts that overflow or underflow f32 (issue 16): each must give the reference's token.
  const extremes: SamplingOptions[] = [
    { temperature: 1e-38 },
    { temperature: 1e-39 },
    { temperature: 1e-45 },
    { temperature: 1e38, topK: 3 },
    { temperature: 1, topP: 1e-46 },
    { temperature: 1, topP: 1e-30 },
    { temperature: 0, repetitionPenalty: 1e-38 },
    { temperature: 0.7, repetitionPenalty: 1e-38 },
    { temperature: 0, repetitionPenalty: 1e39 },
    { temperature: 0, presencePenalty: -3.5e38 },
    { temperature: 0.9, presencePenalty: -3.5e38 },
    { temperature: 0, presencePenalty: 3.5e38 },
    { temperature: 1, repetitionPenalty: 1e-38, presencePenalty: 3.5e38 },
    { temperature: 1e-37, topK: 1, topP: 1e-46, minP: 0.99 },
  ];
  it(`${extremes.length} extreme settings × 8 draws: GPU = reference, every id < n`, async () => {
    const rng = createRng(SEED + 2);
    const row = rng.normalArray(n, 4);
    row[10] = 0; // an exact zero among seen tokens: 0 · ∞ must not turn into NaN
    const seenIds = new Set([10, 17, 400, 999, ...Array.from({ length: 20 }, () => rng.int(0, n))]);
    for (const options of extremes) {
      for (let d = 0; d < 8; d++) {
        const u = rng.next();
        const got = await gpuSample(row, seenIds, options, u);
        const want = sampleToken(row, (i) => seenIds.has(i), resolveSampling(options), u);
        expect(got, `${JSON.stringify(options)} u ${u}`).toBe(want);
      }
    }
  });

  for (const [what, value] of [
    ['NaN', Number.NaN],
    ['+Inf', Number.POSITIVE_INFINITY],
    ['-Inf', Number.NEGATIVE_INFINITY],
  ] as const) {
    it(`a logits row holding ${what} gives the sentinel, on every setting, and checkSampledId says so`, async () => {
      const row = createRng(SEED + 3).normalArray(n, 2);
      row[777] = value;
      for (const options of [{ temperature: 0 }, { temperature: 0.8, topK: 20, topP: 0.9 }, { temperature: 1, minP: 0.1 }]) {
        const got = await gpuSample(row, new Set([1]), options, 0.5);
        expect(got, JSON.stringify(options)).toBe(NON_FINITE_ID);
        expect(() => checkSampledId(got, n, 41)).toThrow(NonFiniteLogitsError);
        expect(() => checkSampledId(got, n, 41)).toThrow(/non-finite logits \(NaN or ±Inf\) at position 41/);
      }
    });
  }
});
