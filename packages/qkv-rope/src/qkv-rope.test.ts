import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, createTensor, fillTensor, readFloat, reference, roundToDtype, uploadTensor, type GpuContext, type Tensor } from '@qwen3-webgpu/tensor';
import { openTestContext } from '@qwen3-webgpu/tensor/testing';
import { createQkvRope, normRope, qkvProjections, type QkvDims, type QkvPath, type QkvRope } from './index.ts';

type WDtype = 'bf16' | 'f16' | 'f32';
const DIMS: QkvDims[] = [
  { hidden: 1024, numHeads: 16, numKvHeads: 8, headDim: 128 }, // Qwen3-0.6B
  { hidden: 320, numHeads: 5, numKvHeads: 1, headDim: 64 }, // GQA 5:1
  { hidden: 192, numHeads: 4, numKvHeads: 2, headDim: 32 },
];
const SEQS = [1, 2, 7, 64, 300];
const POSITIONS = [0, 1, 4095, 40000];
const DTYPES: WDtype[] = ['bf16', 'f16', 'f32'];
const EPS = 1e-6;
const THETA = 1e6;
const BOUND = 1e-5;

const rng = createRng();
console.log(`qkv-rope tests: seed ${rng.seed}`);

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await openTestContext();
});
afterAll(() => ctx?.destroy());

interface Problem {
  d: QkvDims;
  dtype: WDtype;
  /** Host values as stored (rounded to dtype). */
  host: { x: Float32Array; wq: Float32Array; wk: Float32Array; wv: Float32Array; qNorm: Float32Array; kNorm: Float32Array };
  gpu: { x: Tensor; wq: Tensor; wk: Tensor; wv: Tensor; qNorm: Tensor; kNorm: Tensor };
  destroy(): void;
}

function makeProblem(d: QkvDims, dtype: WDtype, rows: number, stress = false, on: GpuContext = ctx): Problem {
  const scale = 1 / Math.sqrt(d.hidden);
  const w = (n: number) =>
    roundToDtype(
      Float32Array.from({ length: n * d.hidden }, () => rng.uniform(-1.7, 1.7) * scale),
      dtype,
    );
  const norm = () =>
    roundToDtype(
      Float32Array.from({ length: d.headDim }, () => rng.uniform(0.6, 1.4)),
      dtype,
    );
  const x = rng.normalArray(rows * d.hidden);
  const host = { x, wq: w(d.numHeads * d.headDim), wk: w(d.numKvHeads * d.headDim), wv: w(d.numKvHeads * d.headDim), qNorm: norm(), kNorm: norm() };
  if (stress) {
    for (let i = 0; i < d.headDim; i += 7) host.kNorm[i]! *= 40; // Qwen3's large k_norm channels
    host.kNorm.set(roundToDtype(host.kNorm, dtype));
    for (let i = 0; i < d.hidden; i++) host.x[Math.min(3, rows - 1) * d.hidden + i]! *= 300; // a massive-activation row
  }
  const gpu = {
    x: uploadTensor(on, [rows, d.hidden], 'f32', host.x),
    wq: uploadTensor(on, [d.numHeads * d.headDim, d.hidden], dtype, host.wq),
    wk: uploadTensor(on, [d.numKvHeads * d.headDim, d.hidden], dtype, host.wk),
    wv: uploadTensor(on, [d.numKvHeads * d.headDim, d.hidden], dtype, host.wv),
    qNorm: uploadTensor(on, [d.headDim], dtype, host.qNorm),
    kNorm: uploadTensor(on, [d.headDim], dtype, host.kNorm),
  };
  return { d, dtype, host, gpu, destroy: () => Object.values(gpu).forEach((t) => t.destroy()) };
}

async function runRows(op: QkvRope, p: Problem, seq: number, position: number, path?: QkvPath) {
  const { d } = p;
  if (path === 'projected') return runProjected(op, p, seq, position);
  return runRowsOn(op, p, seq, position, path);
}

async function runRowsOn(op: QkvRope, p: Pick<Problem, 'd' | 'gpu'>, seq: number, position: number, path?: QkvPath) {
  const { d } = p;
  const q = createTensor(ctx, [seq, d.numHeads, d.headDim], 'f32');
  const k = createTensor(ctx, [seq, d.numKvHeads, d.headDim], 'f32');
  const v = createTensor(ctx, [seq, d.numKvHeads, d.headDim], 'f32');
  for (const t of [q, k, v]) fillTensor(t, NaN);
  await ctx.run((pass) => op.encode(pass, { ...p.gpu, q, k, v, seq, position, ...(path ? { path } : {}) }), 'qkv-rope');
  const out = { q: await readFloat(q), k: await readFloat(k), v: await readFloat(v) };
  for (const t of [q, k, v]) t.destroy();
  return out;
}

/** The projected path's x: the float64 projections q | k | v of each row (rounded to f32), as a GEMM leaves them. */
function projectedRows(on: GpuContext, p: Pick<Problem, 'd' | 'host'>, seq: number): Tensor {
  const { d } = p;
  const raw = qkvProjections(d, p.host.x.subarray(0, seq * d.hidden), p.host.wq, p.host.wk, p.host.wv, seq);
  const [qw, kw] = [d.numHeads * d.headDim, d.numKvHeads * d.headDim];
  const rows = new Float32Array(seq * (qw + 2 * kw));
  for (let r = 0; r < seq; r++) {
    const at = r * (qw + 2 * kw);
    rows.set(raw.q.subarray(r * qw, (r + 1) * qw), at);
    rows.set(raw.k.subarray(r * kw, (r + 1) * kw), at + qw);
    rows.set(raw.v.subarray(r * kw, (r + 1) * kw), at + qw + kw);
  }
  return uploadTensor(on, [seq, qw + 2 * kw], 'f32', rows);
}

async function runProjected(op: QkvRope, p: Problem, seq: number, position: number) {
  const x = projectedRows(ctx, p, seq);
  try {
    return await runRowsOn(op, { ...p, gpu: { ...p.gpu, x } }, seq, position, 'projected');
  } finally {
    x.destroy();
  }
}

function expectClose(label: string, got: Float32Array, want: Float64Array) {
  const nonFinite = got.findIndex((g) => !Number.isFinite(g));
  expect(nonFinite, `${label}: output ${nonFinite} not written or not finite`).toBe(-1);
  const rel = reference.relativeL2(got, want);
  expect(rel, `${label}: relative L2 ${rel.toExponential(2)}`).toBeLessThanOrEqual(BOUND);
}

describe('QKVRoPE vs the float64 reference', () => {
  for (const d of DIMS) {
    for (const dtype of DTYPES) {
      it(`hidden ${d.hidden}, ${d.numHeads}/${d.numKvHeads} heads, hd ${d.headDim}, ${dtype}: seq ${SEQS.join('/')} × positions ${POSITIONS.join('/')}`, async () => {
        const op = createQkvRope(ctx, { ...d, eps: EPS, ropeTheta: THETA, maxPositions: 40_400 });
        const p = makeProblem(d, dtype, Math.max(...SEQS));
        try {
          for (const seq of SEQS) {
            const raw = qkvProjections(d, p.host.x.subarray(0, seq * d.hidden), p.host.wq, p.host.wk, p.host.wv, seq);
            for (const position of POSITIONS) {
              const want = normRope(d, raw.q, raw.k, p.host.qNorm, p.host.kNorm, seq, position, EPS, THETA);
              for (const path of seq === 1 ? (['decode', 'decode-split', 'prefill', 'projected'] as const) : (['prefill', 'projected'] as const)) {
                const got = await runRows(op, p, seq, position, path);
                const label = `${dtype} seq ${seq} pos ${position} ${path}`;
                expectClose(`${label} q`, got.q, want.q);
                expectClose(`${label} k`, got.k, want.k);
                expectClose(`${label} v`, got.v, raw.v);
              }
            }
          }
        } finally {
          p.destroy();
        }
      });
    }
  }

  for (const dtype of DTYPES) {
    it(`stress (${dtype}): k_norm every 7th channel ×40, one row of x ×300`, async () => {
      const d = DIMS[0]!;
      const op = createQkvRope(ctx, { ...d, eps: EPS, ropeTheta: THETA, maxPositions: 40_400 });
      const p = makeProblem(d, dtype, 7, true);
      try {
        for (const [seq, position] of [
          [7, 4095],
          [7, 40000],
          [1, 40000],
        ] as const) {
          const raw = qkvProjections(d, p.host.x.subarray(0, seq * d.hidden), p.host.wq, p.host.wk, p.host.wv, seq);
          const want = normRope(d, raw.q, raw.k, p.host.qNorm, p.host.kNorm, seq, position, EPS, THETA);
          const got = await runRows(op, p, seq, position);
          expectClose(`stress seq ${seq} pos ${position} q`, got.q, want.q);
          expectClose(`stress seq ${seq} pos ${position} k`, got.k, want.k);
          expectClose(`stress seq ${seq} pos ${position} v`, got.v, raw.v);
        }
      } finally {
        p.destroy();
      }
    });
  }
});

describe('the projected path at the largest head_dim', () => {
  // headDim 256: four RoPE pairs a lane (qkv-projected.wgsl's MAX_PAIRS), ragged rows, a position past 4096.
  it('hidden 512, 2/1 heads, hd 256, bf16: seq 1/7/33 × positions 0/5000', async () => {
    const d: QkvDims = { hidden: 512, numHeads: 2, numKvHeads: 1, headDim: 256 };
    const op = createQkvRope(ctx, { ...d, eps: EPS, ropeTheta: THETA, maxPositions: 5_100 });
    const p = makeProblem(d, 'bf16', 33);
    try {
      for (const seq of [1, 7, 33]) {
        const raw = qkvProjections(d, p.host.x.subarray(0, seq * d.hidden), p.host.wq, p.host.wk, p.host.wv, seq);
        for (const position of [0, 5000]) {
          const want = normRope(d, raw.q, raw.k, p.host.qNorm, p.host.kNorm, seq, position, EPS, THETA);
          const got = await runRows(op, p, seq, position, 'projected');
          const label = `seq ${seq} pos ${position}`;
          expectClose(`${label} q`, got.q, want.q);
          expectClose(`${label} k`, got.k, want.k);
          expectClose(`${label} v`, got.v, raw.v);
        }
      }
    } finally {
      p.destroy();
    }
  });
});

describe('odd hidden sizes', () => {
  for (const dtype of DTYPES) {
    it(`hidden 97 (16-bit rows start mid-word), ${dtype}`, async () => {
      const d: QkvDims = { hidden: 97, numHeads: 2, numKvHeads: 1, headDim: 16 };
      const op = createQkvRope(ctx, { ...d, eps: EPS, ropeTheta: THETA, maxPositions: 64 });
      const p = makeProblem(d, dtype, 7);
      try {
        for (const [seq, paths] of [
          [1, ['decode', 'decode-split', 'prefill']],
          [7, ['prefill']],
        ] as const) {
          const raw = qkvProjections(d, p.host.x.subarray(0, seq * d.hidden), p.host.wq, p.host.wk, p.host.wv, seq);
          const want = normRope(d, raw.q, raw.k, p.host.qNorm, p.host.kNorm, seq, 5, EPS, THETA);
          for (const path of paths) {
            const got = await runRows(op, p, seq, 5, path);
            expectClose(`${path} q`, got.q, want.q);
            expectClose(`${path} k`, got.k, want.k);
            expectClose(`${path} v`, got.v, raw.v);
          }
        }
      } finally {
        p.destroy();
      }
    });
  }
});

describe('decode paths in the other kernel layout', () => {
  // The adapter picks one layout (lanes sharing a row on GPUs, an invocation per row on CPU adapters); the other
  // one is tested here on the same adapter, through a second context that forces it.
  let own: GpuContext;
  beforeAll(async () => {
    own = ctx;
    ctx = await openTestContext({ kernelLayout: own.kernelLayout === 'cpu' ? 'gpu' : 'cpu' });
  });
  afterAll(() => {
    ctx.destroy();
    ctx = own;
  });
  for (const d of [DIMS[0]!, DIMS[1]!, { hidden: 97, numHeads: 2, numKvHeads: 1, headDim: 16 }]) {
    for (const dtype of DTYPES) {
      it(`hidden ${d.hidden}, ${d.numHeads}/${d.numKvHeads} heads, hd ${d.headDim}, ${dtype}`, async () => {
        const op = createQkvRope(ctx, { ...d, eps: EPS, ropeTheta: THETA, maxPositions: 4096 });
        const p = makeProblem(d, dtype, 1);
        try {
          const raw = qkvProjections(d, p.host.x, p.host.wq, p.host.wk, p.host.wv, 1);
          const want = normRope(d, raw.q, raw.k, p.host.qNorm, p.host.kNorm, 1, 4095, EPS, THETA);
          for (const path of ['decode', 'decode-split'] as const) {
            const got = await runRows(op, p, 1, 4095, path);
            expectClose(`${ctx.kernelLayout} ${path} q`, got.q, want.q);
            expectClose(`${ctx.kernelLayout} ${path} k`, got.k, want.k);
            expectClose(`${ctx.kernelLayout} ${path} v`, got.v, raw.v);
          }
          // The projection alone: q, k, v raw (QK-norm and RoPE are the caller's).
          const got = await runRows(op, p, 1, 4095, 'decode-projection');
          expectClose(`${ctx.kernelLayout} decode-projection q`, got.q, raw.q);
          expectClose(`${ctx.kernelLayout} decode-projection k`, got.k, raw.k);
          expectClose(`${ctx.kernelLayout} decode-projection v`, got.v, raw.v);
        } finally {
          p.destroy();
        }
      });
    }
  }
});

/** W [rows, cols] as 16 × 16 fragments [rows / 16][cols / 16][16][16] (matmul's storeAsF16 layout). */
function toFragments(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[((Math.floor(r / 16) * (cols / 16) + Math.floor(c / 16)) * 16 + (r % 16)) * 16 + (c % 16)] = w[r * cols + c]!;
  }
  return out;
}

describe('weights stored scaled (wScale, wFragments: matmul storeAsF16 keeps f16 · 2^s fragments)', () => {
  // Wq, Wk, Wv uploaded as f16 · 2^6 (exact: a power of two, inside f16's range) and wScale = 2^-6: every path that
  // reads the weights must give the projections of W itself, in both kernel layouts.
  for (const layout of ['gpu', 'cpu'] as const) {
    it(`decode, decode-split, decode-projection and prefill, ${layout} layout, Qwen3-0.6B and ragged heads`, async () => {
      const on = await openTestContext({ kernelLayout: layout });
      try {
        for (const d of [DIMS[0]!, { hidden: 97, numHeads: 2, numKvHeads: 1, headDim: 16 }]) {
          const op = createQkvRope(on, { ...d, eps: EPS, ropeTheta: THETA, maxPositions: 4096 });
          const p = makeProblem(d, 'f16', 7, false, on);
          const scaled = (w: Float32Array, rows: number) =>
            uploadTensor(
              on,
              [rows, d.hidden],
              'f16',
              w.map((v) => v * 64),
            );
          const w = {
            wq: scaled(p.host.wq, d.numHeads * d.headDim),
            wk: scaled(p.host.wk, d.numKvHeads * d.headDim),
            wv: scaled(p.host.wv, d.numKvHeads * d.headDim),
          };
          try {
            for (const [path, seq] of [
              ['decode', 1],
              ['decode-split', 1],
              ['decode-projection', 1],
              ['prefill', 7],
            ] as const) {
              const raw = qkvProjections(d, p.host.x.subarray(0, seq * d.hidden), p.host.wq, p.host.wk, p.host.wv, seq);
              const want = path === 'decode-projection' ? raw : { ...normRope(d, raw.q, raw.k, p.host.qNorm, p.host.kNorm, seq, 100, EPS, THETA), v: raw.v };
              const out = {
                q: createTensor(on, [seq, d.numHeads, d.headDim], 'f32'),
                k: createTensor(on, [seq, d.numKvHeads, d.headDim], 'f32'),
                v: createTensor(on, [seq, d.numKvHeads, d.headDim], 'f32'),
              };
              for (const t of Object.values(out)) fillTensor(t, NaN);
              await on.run((pass) => op.encode(pass, { ...p.gpu, ...w, ...out, seq, position: 100, path, wScale: 2 ** -6 }), 'qkv-rope');
              for (const name of ['q', 'k', 'v'] as const) expectClose(`${layout} ${path} hidden ${d.hidden} ${name}`, await readFloat(out[name]), want[name]);
              for (const t of Object.values(out)) t.destroy();
            }
            // The same weights as matmul's storeAsF16 leaves them (16 × 16 fragments): the one-row GEMV paths.
            if (d.hidden % 64 === 0) {
              const frag = (host: Float32Array, rows: number) =>
                uploadTensor(
                  on,
                  [rows, d.hidden],
                  'f16',
                  toFragments(
                    host.map((v) => v * 64),
                    rows,
                    d.hidden,
                  ),
                );
              const wf = {
                wq: frag(p.host.wq, d.numHeads * d.headDim),
                wk: frag(p.host.wk, d.numKvHeads * d.headDim),
                wv: frag(p.host.wv, d.numKvHeads * d.headDim),
              };
              const raw = qkvProjections(d, p.host.x.subarray(0, d.hidden), p.host.wq, p.host.wk, p.host.wv, 1);
              for (const path of ['decode-split', 'decode-projection'] as const) {
                const want = path === 'decode-projection' ? raw : { ...normRope(d, raw.q, raw.k, p.host.qNorm, p.host.kNorm, 1, 100, EPS, THETA), v: raw.v };
                const out = {
                  q: createTensor(on, [1, d.numHeads, d.headDim], 'f32'),
                  k: createTensor(on, [1, d.numKvHeads, d.headDim], 'f32'),
                  v: createTensor(on, [1, d.numKvHeads, d.headDim], 'f32'),
                };
                for (const t of Object.values(out)) fillTensor(t, NaN);
                await on.run(
                  (pass) => op.encode(pass, { ...p.gpu, ...wf, ...out, seq: 1, position: 100, path, wScale: 2 ** -6, wFragments: true }),
                  'qkv-rope',
                );
                for (const name of ['q', 'k', 'v'] as const) expectClose(`${layout} ${path} fragments ${name}`, await readFloat(out[name]), want[name]);
                for (const t of Object.values(out)) t.destroy();
              }
              for (const t of Object.values(wf)) t.destroy();
            }
          } finally {
            p.destroy();
            for (const t of Object.values(w)) t.destroy();
          }
        }
      } finally {
        on.destroy();
      }
    });
  }
});

describe('KV-cache mode', () => {
  // decode-split in both kernel layouts: GPUs write K/V from the vec4 GEMV, CPU adapters from the one-lane one.
  const cases = [
    ['prefill', 'decode', undefined],
    ['prefill', 'decode-split', undefined],
    ['prefill', 'decode-split', 'gpu'],
    ['prefill', 'decode-split', 'cpu'],
    ['projected', 'decode-split', undefined],
  ] as const;
  for (const [prefillPath, decodePath, layout] of cases)
    it(`writes K and V at their positions and leaves the rest of the cache untouched (${prefillPath}, then ${decodePath}${layout ? `, ${layout} layout` : ''})`, async () => {
      const c = layout ? await openTestContext({ kernelLayout: layout }) : ctx;
      const d = DIMS[1]!;
      const capacity = 64;
      const op = createQkvRope(c, { ...d, eps: EPS, ropeTheta: THETA, maxPositions: 128 });
      const p = makeProblem(d, 'bf16', 8, false, c);
      const kCache = createTensor(c, [d.numKvHeads, capacity, d.headDim], 'f32');
      const vCache = createTensor(c, [d.numKvHeads, capacity, d.headDim], 'f32');
      const q = createTensor(c, [7, d.numHeads, d.headDim], 'f32');
      fillTensor(kCache, NaN);
      fillTensor(vCache, NaN);
      try {
        // Prefill rows 0–6 at positions 20–26, then row 7 alone (decode) at position 27.
        const x = prefillPath === 'projected' ? projectedRows(c, p, 7) : p.gpu.x;
        await c.run((pass) => op.encode(pass, { ...p.gpu, x, q, k: kCache, v: vCache, kvLayout: 'cache', seq: 7, position: 20, path: prefillPath }));
        if (x !== p.gpu.x) x.destroy();
        const xRow7 = uploadTensor(c, [1, d.hidden], 'f32', p.host.x.subarray(7 * d.hidden, 8 * d.hidden));
        const q1 = createTensor(c, [1, d.numHeads, d.headDim], 'f32');
        await c.run((pass) => op.encode(pass, { ...p.gpu, x: xRow7, q: q1, k: kCache, v: vCache, kvLayout: 'cache', seq: 1, position: 27, path: decodePath }));
        const raw = qkvProjections(d, p.host.x, p.host.wq, p.host.wk, p.host.wv, 8);
        const want = normRope(d, raw.q, raw.k, p.host.qNorm, p.host.kNorm, 8, 20, EPS, THETA);
        const [kc, vc] = [await readFloat(kCache), await readFloat(vCache)];
        const hd = d.headDim;
        for (let h = 0; h < d.numKvHeads; h++) {
          for (let pos = 0; pos < capacity; pos++) {
            const at = (h * capacity + pos) * hd;
            if (pos >= 20 && pos < 28) {
              const row = pos - 20;
              const src = (row * d.numKvHeads + h) * hd;
              expectClose(`k cache head ${h} pos ${pos}`, kc.subarray(at, at + hd), want.k.subarray(src, src + hd));
              expectClose(`v cache head ${h} pos ${pos}`, vc.subarray(at, at + hd), raw.v.subarray(src, src + hd));
            } else {
              expect(kc.subarray(at, at + hd).every(Number.isNaN), `k cache head ${h} pos ${pos} untouched`).toBe(true);
              expect(vc.subarray(at, at + hd).every(Number.isNaN), `v cache head ${h} pos ${pos} untouched`).toBe(true);
            }
          }
        }
        expectClose('q of the decode step', await readFloat(q1), want.q.subarray(7 * d.numHeads * hd));
        xRow7.destroy();
        q1.destroy();
      } finally {
        for (const t of [kCache, vCache, q]) t.destroy();
        p.destroy();
        if (c !== ctx) c.destroy();
      }
    });
});

describe('bad arguments', () => {
  it('names what is wrong', () => {
    const d = DIMS[2]!;
    expect(() => createQkvRope(ctx, { ...d, headDim: 33 })).toThrow(/headDim must be even/);
    expect(() => createQkvRope(ctx, { ...d, numKvHeads: 3 })).toThrow(/numHeads 4 must be a multiple of numKvHeads 3/);
    const op = createQkvRope(ctx, { ...d, maxPositions: 16 });
    const p = makeProblem(d, 'bf16', 2);
    const q = createTensor(ctx, [2, d.numHeads, d.headDim], 'f32');
    const k = createTensor(ctx, [2, d.numKvHeads, d.headDim], 'f32');
    const v = createTensor(ctx, [2, d.numKvHeads, d.headDim], 'f32');
    const wrongW = createTensor(ctx, [d.numHeads * d.headDim, d.hidden + 1], 'bf16');
    const f16W = createTensor(ctx, [d.numKvHeads * d.headDim, d.hidden], 'f16');
    const flat = createTensor(ctx, [4, 32], 'f32');
    const enc = ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    const base = { ...p.gpu, q, k, v, seq: 2, position: 0 };
    expect(() => op.encode(pass, { ...base, wq: wrongW })).toThrow(/wq must be \[128, 192\], got \[128, 193\]/);
    expect(() => op.encode(pass, { ...base, wk: f16W })).toThrow(/wq, wk, wv must share a dtype/);
    expect(() => op.encode(pass, { ...base, position: 15 })).toThrow(/positions 15…16 exceed maxPositions 16/);
    expect(() => op.encode(pass, { ...base, path: 'decode' })).toThrow(/decode path takes one row/);
    expect(() => op.encode(pass, { ...base, kvLayout: 'cache', position: 1 })).toThrow(/positions 1…2 overflow the KV cache capacity 2/);
    expect(() => op.encode(pass, { ...base, kvLayout: 'cache', k: flat })).toThrow(/k cache must be \[2, capacity, 32\], got \[4, 32\]/);
    pass.end();
    for (const t of [q, k, v, wrongW, f16W, flat]) t.destroy();
    p.destroy();
  });
});
