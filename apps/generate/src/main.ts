#!/usr/bin/env node
// qwen3-generate: runs a Qwen3 checkpoint on WebGPU (or the CPU) and streams the continuation. Flags: args.ts.
import { readFileSync } from 'node:fs';
import { defaultMaxContext } from '@qwen3-webgpu/qwen3';
import { HELP, parseCli, type CliOptions } from './args.ts';
import { runCommand, UsageError } from '@qwen3-webgpu/cli-kit/errors';
import { loadModel, modelDir, openModelFiles, type OpenedModel } from './model.ts';
import { progressBar } from './progress.ts';
import { chatLoop, checkPrompt, promptIdsOf, runOnce, type RunResult } from './run.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function statsOf(m: OpenedModel, r: RunResult) {
  const s = r.stats;
  return {
    backend: m.lm.backend,
    device: m.device,
    load_seconds: Number(m.loadSeconds.toFixed(3)),
    prompt_tokens: s.promptTokens,
    generated_tokens: s.generatedTokens,
    prefill_ms: Number(s.prefillMs.toFixed(1)),
    prefill_tokens_per_second: Number(s.prefillTokensPerSecond.toFixed(1)),
    decode_tokens_per_second: Number(s.decodeTokensPerSecond.toFixed(1)),
  };
}

function statsLine(m: OpenedModel, r: RunResult): string {
  const s = statsOf(m, r);
  return (
    `[${s.device}] load ${s.load_seconds.toFixed(2)} s · prompt ${s.prompt_tokens} tokens · prefill ${s.prefill_tokens_per_second} tok/s · ` +
    `${s.generated_tokens} generated · decode ${s.decode_tokens_per_second} tok/s · ${r.stats.finishReason}`
  );
}

/** Writes to stdout and waits until it is written: a failed write (ENOSPC, EIO) surfaces before anything follows. */
const writeOut = (text: string) => new Promise<void>((resolve, reject) => process.stdout.write(text, (err) => (err ? reject(err) : resolve())));

async function main(opts: CliOptions): Promise<void> {
  if (opts.help) return void process.stdout.write(`${HELP}\n`);
  if (opts.version) return void process.stdout.write(`qwen3-generate ${VERSION}\n`);
  const interactive = opts.chat && opts.prompt === undefined && process.stdin.isTTY === true;
  let text = opts.prompt;
  if (text === undefined && !opts.promptIds && !interactive) {
    if (process.stdin.isTTY) throw new UsageError('no prompt: give --prompt TEXT, --prompt-ids 1,2,3, text on stdin, or --chat on a terminal (see --help)');
    text = await readStdin();
    if (text === '') throw new UsageError('no prompt: stdin was empty');
  }
  if (interactive && opts.json) throw new UsageError('--json needs a prompt (--prompt or stdin); the interactive chat has no single result');
  const dir = modelDir(opts);
  const { checkpoint, tokenizer } = await openModelFiles(dir, !opts.promptIds);
  const notice = (line: string) => {
    if (!opts.quiet) process.stderr.write(`${line}\n`);
  };
  for (const w of checkpoint.warnings) notice(`qwen3-generate: warning: ${w}`);
  const maxPositions = checkpoint.config.maxPositionEmbeddings;
  if (opts.maxContext !== undefined && opts.maxContext > maxPositions)
    throw new UsageError(`--max-context ${opts.maxContext} exceeds the model's max_position_embeddings ${maxPositions}`);
  // Validate the prompt against vocabulary and context before loading any weights.
  const promptIds = interactive ? [] : promptIdsOf({ tokenizer }, opts, text);
  if (!interactive) {
    checkPrompt(promptIds, checkpoint.config.vocabSize, opts.maxContext ?? defaultMaxContext(checkpoint.config), opts.maxTokens);
  }
  const bar = opts.quiet ? undefined : progressBar(process.stderr, 'loading weights');
  // Streamed text not yet ended by a newline: Ctrl-C or an error ends the line first, so the shell prompt (or the
  // error) starts on a line of its own. (The interactive chat handles Ctrl-C itself, through readline.)
  let openLine = false;
  const endLine = () => {
    bar?.clear();
    if (openLine && process.stdout.isTTY) process.stdout.write('\n');
    openLine = false;
  };
  if (!interactive) {
    process.once('SIGINT', () => {
      endLine();
      process.exit(130);
    });
  }
  const m = await loadModel(dir, checkpoint, tokenizer, opts, notice, bar).finally(() => bar?.done());
  try {
    if (interactive) return await chatLoop(m, opts, (r) => notice(statsLine(m, r)));
    const write = (t: string) => {
      process.stdout.write(t);
      openLine = !t.endsWith('\n');
    };
    const r = await runOnce(m, opts, promptIds, opts.json ? () => {} : write);
    openLine = false;
    if (opts.json) {
      const out = { prompt_ids: r.promptIds, token_ids: r.tokenIds, text: r.text, finish_reason: r.stats.finishReason, stats: statsOf(m, r) };
      await writeOut(`${JSON.stringify(out)}\n`);
    } else {
      await writeOut('\n');
    }
    notice(statsLine(m, r));
  } catch (err) {
    endLine();
    throw err;
  } finally {
    m.destroy();
  }
}

let opts: CliOptions | undefined;
await runCommand(
  'qwen3-generate',
  async () => main((opts = parseCli(process.argv.slice(2)))),
  () => opts?.debug === true,
);
