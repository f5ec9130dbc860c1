// Hostile but realistic inputs and faults (issue 16), end to end through the built CLI: each gets one clear line on
// stderr and the right exit code; nothing prints garbage, hangs or leaves the terminal mid-line.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSyntheticCheckpoint } from '@qwen3-webgpu/weights/node';
import { copyWithNonFinite } from '@qwen3-webgpu/cli-kit/testing';
import { cli, EMBEDDED, MAIN, ownStderr, ptyCli, type GenerateJson } from './cli.ts';

const TINY_RANDOM = fileURLToPath(new URL('../../parity/fixtures/tiny-random', import.meta.url));
const golden = JSON.parse(readFileSync(new URL('../../parity/goldens/tiny-random.golden.json', import.meta.url), 'utf8')) as { prompt_ids: number[] };
const IDS = golden.prompt_ids.join(',');
const work = mkdtempSync(join(tmpdir(), 'qwen3-cli-hostile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A copy of tiny-random to break. */
const copy = (name: string) => {
  const d = join(work, name);
  cpSync(TINY_RANDOM, d, { recursive: true });
  return d;
};
const editConfig = (dir: string, edit: (c: Record<string, unknown>) => void) => {
  const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  edit(c);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(c));
};

/** stderr is exactly one line, starting with the program name and matching `message`. */
function expectOneLine(stderr: string, message: RegExp) {
  const lines = ownStderr(stderr).split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^qwen3-generate: /);
  expect(lines[0]).toMatch(message);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('1. NaN/Inf in the weights', () => {
  for (const backend of ['webgpu', 'cpu']) {
    it(`${backend}: a warning at load, then exit 1 naming non-finite logits and the position (not "stop" with no text, not id 4294967295)`, async () => {
      const dir = await copyWithNonFinite(TINY_RANDOM, join(work, `nan-${backend}`), 'model.layers.1.self_attn.o_proj.weight');
      const r = cli(['--model', dir, '--prompt-ids', IDS, '--max-tokens', '4', '--backend', backend, '--json']);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      expect(ownStderr(r.stderr).split('\n')).toEqual([
        `qwen3-generate: warning: ${join(dir, 'model.safetensors')}: tensor 'model.layers.1.self_attn.o_proj.weight' holds 2 non-finite values (NaN or ±Inf); the model's output will not be finite`,
        `qwen3-generate: the model produced non-finite logits (NaN or ±Inf) at position ${golden.prompt_ids.length - 1}: its weights or activations overflow (generation step 1)`,
      ]);
      const quiet = cli(['--model', dir, '--prompt-ids', IDS, '--max-tokens', '4', '--backend', backend, '--quiet', '--temperature', '0.8', '--seed', '3']);
      expect(quiet.code).toBe(1);
      expectOneLine(quiet.stderr, /non-finite logits \(NaN or ±Inf\) at position/);
    });
  }
});

describe('2. sampling values the CLI accepts give the same tokens on both backends', () => {
  for (const flags of [
    ['--temperature', '1e-38'],
    ['--temperature', '2e-38', '--top-k', '5'],
    ['--top-p', '1e-46', '--temperature', '0.9'],
    ['--repetition-penalty', '1e-38'],
    ['--repetition-penalty', '1e-38', '--temperature', '1'],
    ['--presence-penalty=-3.5e38'],
    ['--presence-penalty=-3.5e38', '--temperature', '0.6'],
  ]) {
    it(flags.join(' '), () => {
      const run = (backend: string) =>
        cli(['--model', TINY_RANDOM, '--prompt-ids', IDS, '--max-tokens', '6', '--seed', '9', '--json', '--backend', backend, ...flags]);
      const [gpu, cpu] = [run('webgpu'), run('cpu')];
      expect(gpu.code, gpu.stderr).toBe(0);
      expect(cpu.code, cpu.stderr).toBe(0);
      const ids = gpu.json<GenerateJson>().token_ids;
      expect(ids).toHaveLength(6);
      expect(ids.every((id) => id < 384)).toBe(true);
      expect(ids).toEqual(cpu.json<GenerateJson>().token_ids);
    });
  }
});

describe('3. config and file disagree', () => {
  it('num_hidden_layers below the layers in the file → exit 1 (not a truncated model printing garbage)', () => {
    const dir = copy('fewer-layers');
    editConfig(dir, (c) => (c.num_hidden_layers = 3));
    const r = cli(['--model', dir, '--prompt-ids', IDS]);
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /model\.safetensors: holds 4 decoder layers \(model\.layers\.0 … 3\), but config\.json says num_hidden_layers 3$/);
  });

  it('unknown extra tensors: one warning line each (none with --quiet)', async () => {
    const dir = join(work, 'extra');
    await writeSyntheticCheckpoint(dir, {
      seed: 2,
      config: {
        model_type: 'qwen3',
        vocab_size: 64,
        hidden_size: 32,
        intermediate_size: 48,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        num_key_value_heads: 1,
        head_dim: 16,
        max_position_embeddings: 64,
        rms_norm_eps: 1e-6,
        rope_theta: 1e4,
        tie_word_embeddings: true,
      },
      extraTensors: [
        { name: 'model.rotary_emb.inv_freq', shape: [8] },
        { name: 'model.layers.0.self_attn.q_proj.bias', shape: [32] },
      ],
    });
    const r = cli(['--model', dir, '--prompt-ids', '1,2', '--max-tokens', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const lines = ownStderr(r.stderr)
      .split('\n')
      .filter((l) => l.includes('warning'));
    expect(lines.sort()).toEqual([
      "qwen3-generate: warning: model.safetensors: unexpected tensor 'model.layers.0.self_attn.q_proj.bias' ignored",
      "qwen3-generate: warning: model.safetensors: unexpected tensor 'model.rotary_emb.inv_freq' ignored",
    ]);
    const quiet = cli(['--model', dir, '--prompt-ids', '1,2', '--max-tokens', '2', '--json', '--quiet']);
    expect(ownStderr(quiet.stderr)).toBe('');
  });
});

describe('4, 9, 10. files and fields: one line that names the file and says what is wrong', () => {
  const cases: { name: string; dir: () => string; code: number; message: RegExp; args?: string[] }[] = [
    {
      name: 'model.safetensors is a FIFO (used to hang forever)',
      dir: () => {
        const d = copy('fifo');
        rmSync(join(d, 'model.safetensors'));
        execFileSync('mkfifo', [join(d, 'model.safetensors')]);
        return d;
      },
      code: 1,
      message: /fifo\/model\.safetensors: a FIFO \(named pipe\), expected a regular file$/,
    },
    {
      name: 'model.safetensors is a directory (was: EISDIR with no path)',
      dir: () => {
        const d = copy('is-dir');
        rmSync(join(d, 'model.safetensors'));
        mkdirSync(join(d, 'model.safetensors'));
        return d;
      },
      code: 1,
      message: /is-dir\/model\.safetensors: a directory, expected a regular file$/,
    },
    {
      name: 'model.safetensors is a symlink loop (was: "no model.safetensors")',
      dir: () => {
        const d = copy('loop');
        rmSync(join(d, 'model.safetensors'));
        symlinkSync('loop-b', join(d, 'model.safetensors'));
        symlinkSync('model.safetensors', join(d, 'loop-b'));
        return d;
      },
      code: 1,
      message: /loop\/model\.safetensors: cannot read: a loop of symbolic links \(ELOOP\)$/,
    },
    {
      name: 'hidden_size "256"',
      dir: () => {
        const d = copy('str-size');
        editConfig(d, (c) => (c.hidden_size = '256'));
        return d;
      },
      code: 1,
      message:
        /config\.json: field 'hidden_size' is the string "128", expected a number$|config\.json: field 'hidden_size' is the string "256", expected a number$/,
    },
    {
      name: 'hidden_size 256.5',
      dir: () => {
        const d = copy('frac-size');
        editConfig(d, (c) => (c.hidden_size = 256.5));
        return d;
      },
      code: 1,
      message: /config\.json: field 'hidden_size' is 256\.5, expected an integer$/,
    },
    {
      name: 'tie_word_embeddings "true"',
      dir: () => {
        const d = copy('str-tie');
        editConfig(d, (c) => (c.tie_word_embeddings = 'true'));
        return d;
      },
      code: 1,
      message: /config\.json: field 'tie_word_embeddings' is the string "true", expected true or false$/,
    },
    {
      name: 'config.json is null (was: "missing field \'the file\'")',
      dir: () => {
        const d = copy('null-config');
        writeFileSync(join(d, 'config.json'), 'null');
        return d;
      },
      code: 1,
      message: /config\.json: expected a JSON object, found null$/,
    },
    {
      name: 'generation_config top_k "40"',
      dir: () => {
        const d = copy('str-topk');
        writeFileSync(join(d, 'generation_config.json'), JSON.stringify({ do_sample: true, top_k: '40' }));
        return d;
      },
      code: 1,
      message: /generation_config\.json: field 'top_k' is the string "40", expected a number$/,
    },
    {
      name: '--prompt-ids 99999999999999999999 (was: a format error)',
      dir: () => TINY_RANDOM,
      args: ['--prompt-ids', '1,99999999999999999999'],
      code: 2,
      message: /--prompt-ids: id 99999999999999999999 is outside the model's vocabulary$/,
    },
  ];
  for (const c of cases) {
    it(`${c.name} → exit ${c.code}`, () => {
      const r = spawnSync(process.execPath, [MAIN, '--model', c.dir(), ...(c.args ?? ['--prompt-ids', IDS])], { encoding: 'utf8', timeout: 60_000 });
      expect(r.error, 'the CLI must not hang').toBeUndefined();
      expect(r.status, r.stderr).toBe(c.code);
      expectOneLine(r.stderr, c.message);
    });
  }

  it('a model directory with mode 000 (was: "config.json is missing"), as an unprivileged user', () => {
    const d = copy('mode-000');
    chmodSync(work, 0o755);
    chmodSync(d, 0o000);
    try {
      // Root reads through mode 000; the check needs an ordinary user (nobody) when the tests run as root.
      const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
      const r = spawnSync(process.execPath, [MAIN, '--model', d, '--prompt-ids', IDS], {
        encoding: 'utf8',
        timeout: 60_000,
        ...asUser,
        env: { ...process.env, HOME: tmpdir() },
      });
      expect(r.status, r.stderr).toBe(1);
      expectOneLine(r.stderr, /mode-000\/config\.json: cannot read: permission denied \(EACCES\)$/);
    } finally {
      chmodSync(d, 0o755);
    }
  });

  it('a tokenizer that turns the prompt into no ids (was: "the prompt is empty")', () => {
    const d = join(work, 'empty-tokenizer');
    cpSync(EMBEDDED, d, { recursive: true });
    const tk = JSON.parse(readFileSync(join(d, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
    // A BPE vocabulary of one letter and no unknown token: other text encodes to nothing.
    tk.model = { type: 'BPE', vocab: { z: 0 }, merges: [], unk_token: null };
    tk.pre_tokenizer = { type: 'Whitespace' };
    tk.normalizer = null;
    tk.post_processor = null;
    tk.added_tokens = [];
    writeFileSync(join(d, 'tokenizer.json'), JSON.stringify(tk));
    const r = cli(['--model', d, '--prompt', 'hello world']);
    expect(r.code, r.stderr).toBe(1);
    expectOneLine(r.stderr, /empty-tokenizer\/tokenizer\.json: the tokenizer turned the 11-character prompt into no token ids$/);
  });
});

describe('6. seeds', () => {
  it('a seed beyond 32 bits is refused, not wrapped onto a small one', () => {
    const r = cli(['--model', TINY_RANDOM, '--prompt-ids', IDS, '--seed', '4294967297']);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, /--seed must be an integer in \[0, 4294967295\], got '4294967297'$/);
    const top = cli(['--model', TINY_RANDOM, '--prompt-ids', IDS, '--seed', '4294967295', '--temperature', '1', '--max-tokens', '3', '--json']);
    expect(top.code, top.stderr).toBe(0);
  });
});

describe('12. output that cannot be written', () => {
  it('stdout on /dev/full: the write error, and no success stats line before it', () => {
    const full = openSync('/dev/full', 'w');
    try {
      const r = spawnSync(process.execPath, [MAIN, '--prompt', 'def ', '--max-tokens', '3', '--backend', 'cpu'], {
        encoding: 'utf8',
        stdio: ['pipe', full, 'pipe'],
        timeout: 60_000,
      });
      expect(r.status).toBe(1);
      expectOneLine(r.stderr, /^qwen3-generate: stdout: ENOSPC/);
    } finally {
      closeSync(full);
    }
  });
});

describe('faults during generation', () => {
  it('the WebGPU device lost mid-generation → one line, exit 1, the ids so far on stdout', () => {
    const r = cli(['--model', TINY_RANDOM, '--prompt-ids', IDS, '--max-tokens', '20', '--backend', 'webgpu'], {
      env: { QWEN3_GENERATE_LOSE_DEVICE_AFTER: '3' },
    });
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /^qwen3-generate: the WebGPU device was lost \(destroyed[^)]*\); the model cannot run further$/);
    // Three ids at least (run-ahead may deliver one that finished before the loss), and the line ended.
    expect(r.stdout.trim().split(' ').length).toBeGreaterThanOrEqual(3);
    expect(r.stdout.trim().split(' ').length).toBeLessThan(20);
  });
});

describe('on a terminal: Ctrl-C', () => {
  it('5. --chat on the CPU backend stops the reply (as on WebGPU) and the chat goes on', async () => {
    const t = ptyCli(['--chat', '--backend', 'cpu', '--max-tokens', '1500', '--seed', '2']);
    const prompt = /\n(\x1b\[\d*[A-Za-z])*> (\x1b\[\d*[A-Za-z])*$/; // readline's "> " with its cursor moves
    await t.waitFor(prompt);
    t.type('Write a long story.\r');
    await t.waitFor(/story\./);
    const replyStart = t.output().length;
    await t.waitFor((out) => out.length > replyStart + 40);
    t.type('\x03');
    await t.waitFor(/\d+ generated[^\n]*\n/, 30_000);
    await t.waitFor(prompt);
    const generated = Number(/(\d+) generated/.exec(t.output())![1]);
    expect(generated).toBeLessThan(1500);
    t.type('/exit\r');
    expect(await t.exit).toBe(0);
  });

  it('12. a one-shot run: the partial text is ended by a newline, exit 130', async () => {
    const t = ptyCli(['--prompt', 'def ', '--backend', 'cpu', '--max-tokens', '1500', '--seed', '2', '--quiet']);
    await t.waitFor(/.{24,}/s);
    t.type('\x03');
    expect(await t.exit).toBe(130);
    expect(t.output()).toMatch(/\S\r\n$/);
  });
});
