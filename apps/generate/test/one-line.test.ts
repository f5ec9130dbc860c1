// The README's promise, checked where it is made: `pnpm generate --model <bad dir> …` says what is wrong in exactly one
// line on stderr, for every malformed checkpoint of the weights tests, with turbo's build log and Dawn's native
// warnings kept out. `pnpm generate` runs the bin of tools/cli (a bin, not a script: pnpm adds no lines of its own
// around a bin), which runs tools/run-cli.mjs.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { malformedCheckpoints, malformedSafetensors } from '../../../packages/weights/test/malformed.ts';
import { NO_ADAPTER_ENV } from './cli.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const TINY_RANDOM = join(ROOT, 'apps/parity/fixtures/tiny-random');
const work = mkdtempSync(join(tmpdir(), 'qwen3-one-line-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The README's own command, `pnpm generate …`, from the repository root; build skipped: turbo has just built. */
const generate = (args: string[], env: Record<string, string> = {}) =>
  spawnSync('pnpm', ['generate', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, QWEN3_RUN_CLI_NO_BUILD: '1', ...env },
  });

function expectExactlyOneLine(r: ReturnType<typeof generate>, message: RegExp) {
  expect(r.error).toBeUndefined();
  const lines = r.stderr.split('\n');
  expect(lines.pop(), 'stderr ends with a newline').toBe('');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^qwen3-generate: /);
  expect(lines[0]).toMatch(message);
  expect(r.status).toBe(1);
}

describe("every malformed safetensors file of the weights tests, as a model directory's model.safetensors", () => {
  const files = join(work, 'files');
  mkdirSync(files);
  for (const [what, make, message] of malformedSafetensors(files)) {
    it(what, () => {
      const dir = join(work, basename(make()).replace(/\W/g, '-'));
      const file = make();
      mkdirSync(dir, { recursive: true });
      for (const f of ['config.json', 'generation_config.json']) copyFileSync(join(TINY_RANDOM, f), join(dir, f));
      if (existsSync(file)) copyFileSync(file, join(dir, 'model.safetensors'));
      const r = generate(['--model', dir, '--prompt-ids', '1,2,3']);
      expectExactlyOneLine(r, existsSync(file) ? message : /no model\.safetensors or model\.safetensors\.index\.json in this directory/);
    });
  }
});

describe('every malformed checkpoint directory of the weights tests', () => {
  for (const [what, make, message] of malformedCheckpoints(join(work, 'checkpoints'))) {
    it(what, async () => expectExactlyOneLine(generate(['--model', await make(), '--prompt-ids', '1,2,3']), message));
  }
});

describe('no Vulkan driver at all', () => {
  it('--backend webgpu: one line (the loader warnings and the native stack frame are filtered)', () => {
    const r = generate(['--model', TINY_RANDOM, '--prompt-ids', '1,2', '--backend', 'webgpu', '--quiet'], NO_ADAPTER_ENV);
    expectExactlyOneLine(r, /--backend webgpu: No WebGPU adapter found/);
  });
});

describe('through pnpm itself, build included', () => {
  it('no command echo, no ELIFECYCLE line, no turbo banner, no Dawn warnings', () => {
    const d = join(work, 'pnpm-case');
    cpSync(TINY_RANDOM, d, { recursive: true });
    rmSync(join(d, 'model.safetensors'));
    const r = spawnSync('pnpm', ['generate', '--model', d, '--prompt-ids', '1'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    expectExactlyOneLine(r, /no model\.safetensors or model\.safetensors\.index\.json in this directory/);
  });
});
