// qwen3-parity spawned on every committed golden with both backends, on the regenerated Qwen3-0.6B-shaped synthetic
// checkpoint, on deliberately broken models (which must fail at the right layer), and on bad input.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QWEN3_0_6B_CONFIG } from '@qwen3-webgpu/weights';
import { writeSyntheticCheckpoint } from '@qwen3-webgpu/weights/node';
import { copyWithNonFinite, ownStderr, spawnCli } from '@qwen3-webgpu/cli-kit/testing';
import type { ParityReport } from '../src/compare.ts';

const MAIN = fileURLToPath(new URL('../dist/main.mjs', import.meta.url));
const at = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const parity = (args: string[]) => spawnCli(MAIN, args);

/** Committed goldens and the checkpoints they belong to (all written by HF transformers on the GPU machine). */
const COMMITTED = [
  { name: 'tiny-random', model: at('../fixtures/tiny-random') },
  { name: 'stress', model: at('../fixtures/stress') },
  { name: 'qwen3-tiny-stdlib', model: at('../../generate/model') },
];

function expectPass(args: string[]): ParityReport {
  const r = parity([...args, '--json']);
  expect(ownStderr(r.stderr)).toBe('');
  const report = r.json<ParityReport>();
  expect(
    report.layers.every((l) => l.relError <= 1e-4),
    JSON.stringify(report.layers),
  ).toBe(true);
  expect(report.pass).toBe(true);
  expect(r.code).toBe(0);
  return report;
}

describe('committed goldens pass on both backends', () => {
  for (const g of COMMITTED) {
    for (const backend of ['webgpu', 'cpu']) {
      it(`${g.name} (${backend})`, () => {
        const golden = JSON.parse(readFileSync(at(`../goldens/${g.name}.golden.json`), 'utf8'));
        const report = expectPass(['--model', g.model, '--golden', at(`../goldens/${g.name}.golden.json`), '--backend', backend]);
        expect(report.layers).toHaveLength(golden.layers.length);
        expect(report.greedy.compared).toBe(golden.greedy_ids.length);
        expect(report.greedy.firstMismatch).toBe(-1);
        expect(report.logits.relError).toBeLessThanOrEqual(1e-4);
      });
    }
  }

  it('the stress golden is one where HF bf16 leaves float32 while we follow float32', () => {
    const golden = JSON.parse(readFileSync(at('../goldens/stress.golden.json'), 'utf8'));
    expect(golden.native_dtype_greedy_ids).not.toEqual(golden.greedy_ids);
    const r = parity(['--model', at('../fixtures/stress'), '--golden', at('../goldens/stress.golden.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/greedy continuation: 24\/24 identical/);
    expect(r.stdout).toMatch(/HF in bfloat16: the first \d+ of 24 greedy ids equal float32's/);
  });

  it('--compare-backends: webgpu against the float64 CPU backend, no golden needed', () => {
    const r = parity(['--model', at('../fixtures/tiny-random'), '--compare-backends', '--tokens', '6', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const report = r.json<ParityReport>();
    expect(report.against).toMatch(/^cpu backend/);
    expect(report.greedy.compared).toBe(6);
  });
});

describe('the Qwen3-0.6B-shaped synthetic checkpoint (regenerated from its seed)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qwen3-parity-0.6b-'));
    await writeSyntheticCheckpoint(dir, { config: { ...QWEN3_0_6B_CONFIG }, seed: 1 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  for (const backend of ['webgpu', 'cpu']) {
    it(`passes against HF float32 over 28 layers with 3 greedy steps (${backend})`, () => {
      const report = expectPass(['--model', dir, '--golden', at('../goldens/qwen3-0.6b-synthetic.golden.json'), '--backend', backend, '--tokens', '3']);
      expect(report.layers).toHaveLength(28);
      expect(report.greedy.compared).toBe(3);
    });
  }
});

describe('a broken model fails, and the table points at the first bad layer', () => {
  const golden = at('../goldens/tiny-random.golden.json');
  const model = at('../fixtures/tiny-random');
  for (const [fault, layer] of [
    ['k-norm-sign', 2],
    ['interleaved-rope', 1],
    ['no-qk-norm', 3],
  ] as const) {
    it(`${fault} from layer ${layer} → exit 1, first bad layer ${layer}`, () => {
      const r = parity(['--model', model, '--golden', golden, '--backend', 'cpu', '--fault', fault, '--fault-layer', String(layer)]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`^\\s+${layer}\\s.*FAIL  ← first bad layer$`, 'm'));
      expect(r.stdout.trimEnd()).toMatch(new RegExp(`FAIL: first bad layer ${layer}$`));
      for (let l = 0; l < layer; l++) expect(r.stdout).toMatch(new RegExp(`^\\s+${l}\\s.*ok$`, 'm'));
    });
  }
});

describe('bad input: one line on stderr, exit 2', () => {
  const work = mkdtempSync(join(tmpdir(), 'qwen3-parity-bad-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const model = at('../fixtures/tiny-random');
  const cases: [string, () => string[], RegExp][] = [
    ['no --model', () => ['--golden', 'x.json'], /--model DIR is required/],
    ['no --golden', () => ['--model', model], /--golden FILE is required/],
    [
      'missing model directory',
      () => ['--model', join(work, 'nope'), '--golden', at('../goldens/tiny-random.golden.json')],
      /--model .*nope: no such directory/,
    ],
    ['missing golden file', () => ['--model', model, '--golden', join(work, 'nope.json')], /--golden .*nope\.json: cannot read \(ENOENT\)/],
    [
      'golden without layers',
      () => {
        const f = join(work, 'bad.json');
        writeFileSync(f, JSON.stringify({ prompt_ids: [1], greedy_ids: [], greedy_margins: [], native_dtype_greedy_ids: [], last_logits_top: [[1, 0.5]] }));
        return ['--model', model, '--golden', f];
      },
      /layers must be a list of \{rms, first8, sum\}/,
    ],
    ['unknown fault', () => ['--model', model, '--golden', at('../goldens/tiny-random.golden.json'), '--fault', 'bitflip'], /--fault must be one of/],
    [
      'fault on webgpu',
      () => ['--model', model, '--golden', at('../goldens/tiny-random.golden.json'), '--fault', 'no-qk-norm'],
      /--fault is built into the CPU backend only/,
    ],
    [
      'golden of another shape',
      () => ['--model', at('../../generate/model'), '--golden', at('../goldens/tiny-random.golden.json'), '--backend', 'cpu'],
      /--golden has 4 layers, the model 6/,
    ],
    ['unknown flag', () => ['--modle', model], /unknown flag --modle/],
    [
      'negative --tokens',
      () => ['--model', model, '--golden', at('../goldens/tiny-random.golden.json'), '--tokens', '-1'],
      /--tokens must be an integer ≥ 0, got '-1'/,
    ],
  ];
  for (const [name, args, message] of cases) {
    it(name, () => {
      const r = parity(args());
      const lines = ownStderr(r.stderr).split('\n');
      expect(r.code, r.stderr).toBe(2);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^qwen3-parity: /);
      expect(lines[0]).toMatch(message);
    });
  }
});

describe('a golden that does not fit this model or its context: exit 2 before any weight is loaded', () => {
  const work = mkdtempSync(join(tmpdir(), 'qwen3-parity-golden-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const model = at('../fixtures/tiny-random');
  const base = () => JSON.parse(readFileSync(at('../goldens/tiny-random.golden.json'), 'utf8')) as Record<string, any>;
  const variant = (name: string, edit: (g: Record<string, any>) => void) => {
    const g = base();
    edit(g);
    const f = join(work, `${name}.json`);
    writeFileSync(f, JSON.stringify(g));
    return f;
  };
  const cases: [string, (g: Record<string, any>) => void, RegExp][] = [
    [
      '7. prompt + greedy steps overflow the context (was: the whole run, then exit 1)',
      (g) => (g.prompt_ids = Array.from({ length: 500 }, (_, i) => (i * 7) % 384)),
      /the prompt \(500 ids\) and 24 greedy steps need 523 positions, over the model's max_position_embeddings 512$/,
    ],
    [
      '8. prompt longer than the context (was: exit 1)',
      (g) => (g.prompt_ids = Array.from({ length: 600 }, (_, i) => i % 384)),
      /the prompt \(600 ids\) and 24 greedy steps need 623 positions/,
    ],
    ['8. a negative prompt id (was: exit 1)', (g) => (g.prompt_ids[2] = -5), /prompt_ids must be a non-empty list of token ids \(integers ≥ 0\)/],
    ['8. an oversized prompt id', (g) => (g.prompt_ids[2] = 384), /prompt_ids holds id 384, outside the model's vocabulary \[0, 384\)$/],
    [
      '8. a logit id outside the vocabulary (was: a parity FAIL with NaN errors)',
      (g) => (g.last_logits_top[3][0] = 1000),
      /last_logits_top holds id 1000, outside the model's vocabulary \[0, 384\)$/,
    ],
    ['8. first8 longer than 8 (was: a parity FAIL with NaN errors)', (g) => g.layers[1].first8.push(0.5), /layers\[1\]\.first8 has 9 values, expected 8/],
    ['8. first8 empty (was: passed unchecked)', (g) => (g.layers[2].first8 = []), /layers\[2\]\.first8 has 0 values, expected 8/],
  ];
  for (const [name, edit, message] of cases) {
    for (const backend of ['webgpu', 'cpu']) {
      it(`${name} (${backend})`, () => {
        const start = performance.now();
        const r = parity(['--model', model, '--golden', variant(name.replace(/\W+/g, '-'), edit), '--backend', backend]);
        const lines = ownStderr(r.stderr).split('\n');
        expect(r.code, r.stderr).toBe(2);
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^qwen3-parity: --golden /);
        expect(lines[0]).toMatch(message);
        expect(r.stdout).toBe('');
        expect(performance.now() - start).toBeLessThan(10_000);
      });
    }
  }

  it('--compare-backends checks the context of --prompt-ids up front too', () => {
    const r = parity(['--model', model, '--compare-backends', '--prompt-ids', Array.from({ length: 510 }, () => 3).join(','), '--tokens', '8']);
    expect(r.code).toBe(2);
    expect(ownStderr(r.stderr)).toMatch(
      /^qwen3-parity: the prompt \(510 ids\) and 8 greedy steps need 517 positions, over the model's max_position_embeddings 512$/,
    );
  });
});

describe('1. NaN/Inf in the weights: the layer table, not a dying message', () => {
  const work = mkdtempSync(join(tmpdir(), 'qwen3-parity-nan-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const golden = at('../goldens/tiny-random.golden.json');
  let dir: string;
  beforeAll(async () => {
    dir = await copyWithNonFinite(at('../fixtures/tiny-random'), join(work, 'nan'), 'model.layers.1.self_attn.o_proj.weight');
  });
  for (const args of [['--backend', 'webgpu'], ['--backend', 'cpu'], ['--compare-backends']]) {
    it(args.join(' '), () => {
      const r = parity(['--model', dir, ...(args[0] === '--compare-backends' ? args : ['--golden', golden, ...args])]);
      expect(r.code, r.stderr).toBe(1);
      const warning = `qwen3-parity: warning: ${join(dir, 'model.safetensors')}: tensor 'model.layers.1.self_attn.o_proj.weight' holds 2 non-finite values (NaN or ±Inf); the model's output will not be finite`;
      expect(ownStderr(r.stderr).split('\n')).toEqual(args[0] === '--compare-backends' ? [warning, warning] : [warning]);
      expect(r.stdout).toMatch(/^\s+0\s.*ok$/m);
      expect(r.stdout).toMatch(/^\s+1\s+NaN.*FAIL  ← first bad layer$/m);
      expect(r.stdout).toMatch(/NaN or ±Inf in our run from layer 1 on/);
      expect(r.stdout).toMatch(
        /greedy continuation: stopped after 0 steps: (cpu backend: )?the model produced non-finite logits \(NaN or ±Inf\) at position \d+.*FAIL$/m,
      );
      expect(r.stdout.trimEnd()).toMatch(/FAIL: first bad layer 1$/);
    });
  }
});
