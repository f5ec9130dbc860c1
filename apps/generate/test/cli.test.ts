// End to end: the built qwen3-generate spawned on small checkpoints (the HF-written parity fixture, the embedded model,
// a synthetic model over Qwen3's vocabulary with Qwen3's tokenizer files).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, loadCausalLM } from '@qwen3-webgpu/qwen3';
import { loadTokenizer } from '../src/tokenizer.ts';
import { cli, EMBEDDED, MAIN, NO_ADAPTER_ENV, ownStderr, qwen3VocabCheckpoint, QWEN3_TOKENIZER, type GenerateJson } from './cli.ts';

const TINY_RANDOM = fileURLToPath(new URL('../../parity/fixtures/tiny-random', import.meta.url));
const golden = JSON.parse(readFileSync(new URL('../../parity/goldens/tiny-random.golden.json', import.meta.url), 'utf8')) as {
  prompt_ids: number[];
  greedy_ids: number[];
};

describe('greedy --prompt-ids … --temperature 0 --json', () => {
  for (const backend of ['webgpu', 'cpu'] as const) {
    it(`equals the model package's greedy ids and HF float32's (${backend})`, async () => {
      const n = golden.greedy_ids.length;
      const r = cli([
        '--model',
        TINY_RANDOM,
        '--prompt-ids',
        golden.prompt_ids.join(','),
        '--temperature',
        '0',
        '--max-tokens',
        String(n),
        '--json',
        '--backend',
        backend,
      ]);
      expect(ownStderr(r.stderr)).not.toMatch(/error|qwen3-generate:/i);
      expect(r.code).toBe(0);
      const out = r.json<GenerateJson>();
      const lm = await loadCausalLM(TINY_RANDOM, { backend });
      const ids: number[] = [];
      try {
        for await (const id of generate(lm, golden.prompt_ids, { temperature: 0, maxTokens: n, stopIds: lm.stopIds })) ids.push(id);
      } finally {
        lm.destroy();
      }
      expect(out.prompt_ids).toEqual(golden.prompt_ids);
      expect(out.token_ids).toEqual(ids);
      expect(out.token_ids).toEqual(golden.greedy_ids);
      expect(out.finish_reason).toBe('length');
      expect(out.stats.backend).toBe(backend);
      expect(out.stats.generated_tokens).toBe(n);
    });
  }
});

describe('text in, text out', () => {
  it('the embedded model continues "def " with Python-like text, stats on stderr', () => {
    const r = cli(['--prompt', 'def ', '--max-tokens', '48', '--seed', '7']);
    expect(r.code).toBe(0);
    // Python-like: mostly printable ASCII with Python's keywords or punctuation (the model is tiny; see the README).
    expect(r.stdout).toMatch(/\b(self|return|if|import|None|in|for|def|class)\b|[:=#(]/);
    const ascii = [...r.stdout].filter((ch) => /[\x20-\x7e\n]/.test(ch)).length;
    expect(ascii / [...r.stdout].length).toBeGreaterThan(0.8);
    expect(ownStderr(r.stderr)).toMatch(/load [\d.]+ s · prompt \d+ tokens · prefill [\d.]+ tok\/s · 48 generated · decode [\d.]+ tok\/s/);
  });

  it('reads the prompt from stdin; the same seed gives the same text; --quiet leaves stderr to errors', async () => {
    const a = cli(['--max-tokens', '12', '--seed', '3', '--json', '--quiet'], { input: 'import os\n' });
    const b = cli(['--prompt', 'import os\n', '--max-tokens', '12', '--seed', '3', '--json', '--quiet']);
    expect(a.code).toBe(0);
    expect(ownStderr(a.stderr)).toBe('');
    expect(a.json<GenerateJson>().prompt_ids).toEqual((await loadTokenizer(EMBEDDED)).encode('import os\n'));
    expect(a.json<GenerateJson>().token_ids).toEqual(b.json<GenerateJson>().token_ids);
    expect(a.json<GenerateJson>().text.length).toBeGreaterThan(0);
  });

  it('without an adapter it runs on the CPU backend after a one-line notice', () => {
    const r = cli(['--prompt', 'x = ', '--max-tokens', '4', '--json'], { env: NO_ADAPTER_ENV });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^qwen3-generate: no WebGPU adapter, running on the CPU backend/m);
    expect(r.json<GenerateJson>().stats.backend).toBe('cpu');
    const forced = cli(['--prompt', 'x = ', '--max-tokens', '4', '--backend', 'webgpu'], { env: NO_ADAPTER_ENV });
    expect(forced.code).toBe(1);
    expect(forced.stderr).toMatch(/^qwen3-generate: --backend webgpu: No WebGPU adapter found/m);
  });

  it('a reader that leaves early (| head) ends it quietly with exit 0', () => {
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${MAIN}" --prompt 'def ' --max-tokens 300 --quiet | head -c 16 > /dev/null`], {
      encoding: 'utf8',
    });
    expect(ownStderr(r.stderr)).toBe('');
    expect(r.status).toBe(0);
  });

  it('--help and --version', () => {
    const h = cli(['--help']);
    expect(h.code).toBe(0);
    for (const flag of ['--model', '--prompt-ids', '--chat', '--no-think', '--max-tokens', '--top-p', '--backend', '--json']) expect(h.stdout).toContain(flag);
    const v = cli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^qwen3-generate \d+\.\d+\.\d+/);
  });
});

describe('--chat with Qwen3 tokenizer files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await qwen3VocabCheckpoint();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('renders the chat template (system, thinking switch) into the prompt ids and generates', async () => {
    const tk = await loadTokenizer(QWEN3_TOKENIZER);
    const cases = [
      { args: [], text: '<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n' },
      { args: ['--no-think'], text: '<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n' },
      { args: ['--system', 'Be brief.'], text: '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n' },
    ];
    for (const c of cases) {
      const r = cli(['--model', dir, '--chat', '--prompt', 'Hello', '--max-tokens', '8', '--json', '--seed', '1', ...c.args]);
      expect(r.code, r.stderr).toBe(0);
      const out = r.json<GenerateJson>();
      expect(out.prompt_ids).toEqual(tk.encode(c.text, false));
      expect(out.token_ids.length).toBeGreaterThan(0);
      expect(out.text).toBe(tk.decode(out.token_ids));
    }
  });
});

describe('errors: one line on stderr, exit 2 for usage and 1 for runtime, no stack trace unless --debug', () => {
  const work = mkdtempSync(join(tmpdir(), 'qwen3-cli-bad-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const ids = golden.prompt_ids.join(',');
  const cases: { name: string; args: () => string[]; code: number; message: RegExp }[] = [
    {
      name: 'missing model directory',
      args: () => ['--model', join(work, 'nope'), '--prompt-ids', '1'],
      code: 2,
      message: /--model .*nope: no such directory/,
    },
    { name: 'model path is a file', args: () => ['--model', join(TINY_RANDOM, 'config.json'), '--prompt-ids', '1'], code: 2, message: /: not a directory/ },
    {
      name: 'unreadable model directory (no config.json)',
      args: () => {
        const d = join(work, 'empty');
        cpSync(join(TINY_RANDOM, 'generation_config.json'), join(d, 'generation_config.json'));
        return ['--model', d, '--prompt-ids', '1'];
      },
      code: 1,
      message: /not a checkpoint directory: config\.json is missing/,
    },
    {
      name: 'malformed checkpoint (truncated safetensors)',
      args: () => {
        const d = join(work, 'truncated');
        cpSync(TINY_RANDOM, d, { recursive: true });
        const f = join(d, 'model.safetensors');
        truncateSync(f, statSync(f).size - 1000);
        return ['--model', d, '--prompt-ids', '1'];
      },
      code: 1,
      message: /model\.safetensors/,
    },
    { name: 'unknown flag', args: () => ['--temprature', '0'], code: 2, message: /unknown flag --temprature/ },
    {
      name: 'negative --max-tokens',
      args: () => ['--model', TINY_RANDOM, '--prompt-ids', ids, '--max-tokens', '-3'],
      code: 2,
      message: /--max-tokens must be a positive integer, got '-3'/,
    },
    {
      name: 'non-decimal --max-tokens',
      args: () => ['--model', TINY_RANDOM, '--prompt-ids', ids, '--max-tokens', '1e3'],
      code: 2,
      message: /--max-tokens must be a positive integer, got '1e3'/,
    },
    {
      name: '--top-p outside (0, 1]',
      args: () => ['--model', TINY_RANDOM, '--prompt-ids', ids, '--top-p', '1.5'],
      code: 2,
      message: /--top-p must be in \(0, 1\], got '1\.5'/,
    },
    { name: '--top-p 0', args: () => ['--model', TINY_RANDOM, '--prompt-ids', ids, '--top-p', '0'], code: 2, message: /--top-p must be in \(0, 1\]/ },
    {
      name: 'non-integer ids',
      args: () => ['--model', TINY_RANDOM, '--prompt-ids', '1,2.5,3'],
      code: 2,
      message: /--prompt-ids must be non-negative integers.*'2\.5'/,
    },
    {
      name: 'ids ≥ vocab',
      args: () => ['--model', TINY_RANDOM, '--prompt-ids', '1,384'],
      code: 2,
      message: /id 384 is outside the model's vocabulary \[0, 384\)/,
    },
    {
      name: 'prompt longer than the context',
      args: () => ['--model', TINY_RANDOM, '--prompt-ids', ids, '--max-context', '8'],
      code: 2,
      message: /the prompt is 12 tokens, longer than the context of 8 positions/,
    },
    {
      name: '--max-context beyond the model',
      args: () => ['--model', TINY_RANDOM, '--prompt-ids', ids, '--max-context', '100000'],
      code: 2,
      message: /--max-context 100000 exceeds the model's max_position_embeddings 512/,
    },
    { name: 'bad --backend', args: () => ['--backend', 'cuda'], code: 2, message: /--backend must be webgpu or cpu, got 'cuda'/ },
    { name: 'text prompt without a tokenizer', args: () => ['--model', TINY_RANDOM, '--prompt', 'hi'], code: 2, message: /tokenizer\.json: not found/ },
    { name: 'no prompt at all', args: () => ['--model', TINY_RANDOM], code: 2, message: /no prompt: stdin was empty/ },
  ];
  for (const c of cases) {
    it(`${c.name} → exit ${c.code}`, () => {
      const r = cli(c.args());
      const lines = ownStderr(r.stderr).split('\n');
      expect(r.code, r.stderr).toBe(c.code);
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^qwen3-generate: /);
      expect(lines[0]).toMatch(c.message);
      expect(r.stdout).toBe('');
    });
  }

  it('--debug adds the stack trace', () => {
    const r = cli(['--model', join(work, 'empty'), '--prompt-ids', '1', '--debug']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});
