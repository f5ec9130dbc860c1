// One generation (a prompt, streamed), and the interactive chat built from it.
import { createInterface } from 'node:readline';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { encodePrompt, generate, NonFiniteLogitsError, stopIdsWith, type GenerationStats } from '@qwen3-webgpu/qwen3';
import type { CliOptions } from './args.ts';
import { RuntimeError, UsageError } from '@qwen3-webgpu/cli-kit/errors';
import type { OpenedModel } from './model.ts';
import { StreamDecoder, type ChatMessage } from './tokenizer.ts';

export interface RunResult {
  promptIds: number[];
  tokenIds: number[];
  text: string;
  stats: GenerationStats;
}

/** Prompt ids from the flags: ids as given, the chat rendered and tokenized, or plain text tokenized. */
export function promptIdsOf(m: Pick<OpenedModel, 'tokenizer'>, opts: CliOptions, text: string | undefined, history: ChatMessage[] = []): number[] {
  if (opts.promptIds) return opts.promptIds;
  const tk = m.tokenizer!;
  const ids = encodePrompt(tk, text ?? '', { chat: opts.chat, history, noThink: opts.noThink, ...(opts.system !== undefined ? { system: opts.system } : {}) });
  // Text went in and nothing came out: the tokenizer's fault, not an empty prompt.
  if (ids.length === 0 && (text ?? '') !== '')
    throw new RuntimeError(`${tk.file}: the tokenizer turned the ${[...text!].length}-character prompt into no token ids`);
  return ids;
}

/**
 * Test hook (fault injection, not a user setting): QWEN3_GENERATE_LOSE_DEVICE_AFTER=N destroys the WebGPU device after
 * the N-th generated token, as a driver reset would lose it.
 */
const LOSE_DEVICE_AFTER = Number(process.env.QWEN3_GENERATE_LOSE_DEVICE_AFTER ?? 0);

/** Checks ids against the vocabulary and the context; returns how many tokens may be generated. */
export function checkPrompt(ids: readonly number[], vocab: number, maxContext: number, maxTokens: number): number {
  if (ids.length === 0) throw new UsageError('the prompt is empty');
  const bad = ids.find((id) => id >= vocab);
  if (bad !== undefined) throw new UsageError(`--prompt-ids: id ${bad} is outside the model's vocabulary [0, ${vocab})`);
  const room = maxContext - ids.length;
  if (room < 0) throw new UsageError(`the prompt is ${ids.length} tokens, longer than the context of ${maxContext} positions (--max-context)`);
  return Math.min(maxTokens, room + 1);
}

export const stopIdsFor = (m: OpenedModel, chat: boolean): number[] => stopIdsWith(m.lm.stopIds, m.tokenizer, chat);

/** Runs one generation; streamed text goes to write() as it becomes final. stop() ends it early (Ctrl-C). */
export async function runOnce(
  m: OpenedModel,
  opts: CliOptions,
  promptIds: number[],
  write: (text: string) => void,
  control: { stopped?: boolean } = {},
): Promise<RunResult> {
  const maxTokens = checkPrompt(promptIds, m.lm.vocabSize, m.lm.maxContext, opts.maxTokens);
  const decoder = m.tokenizer ? new StreamDecoder(m.tokenizer) : undefined;
  const tokenIds: number[] = [];
  let text = '';
  const it = generate(m.lm, promptIds, {
    ...m.defaults,
    ...opts.sampling,
    maxTokens,
    stopIds: stopIdsFor(m, opts.chat),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
  });
  let stats: GenerationStats | undefined;
  const next = async () => {
    try {
      return await it.next();
    } catch (err) {
      // The library knows the position; the user counts generated tokens.
      if (err instanceof NonFiniteLogitsError) throw new RuntimeError(`${err.message} (generation step ${tokenIds.length + 1})`);
      throw err;
    }
  };
  for (let r = await next(); ; r = await next()) {
    if (r.done) {
      stats = r.value;
      break;
    }
    tokenIds.push(r.value);
    if (tokenIds.length === LOSE_DEVICE_AFTER) m.ctx?.device.destroy();
    const piece = decoder ? decoder.push(r.value) : `${tokenIds.length > 1 ? ' ' : ''}${r.value}`;
    text += piece;
    if (piece) write(piece);
    // One turn of the event loop per token: the CPU backend computes synchronously, and without this a Ctrl-C
    // (readline's SIGINT, or the process signal) would only be seen after the whole reply.
    await nextTurn();
    if (control.stopped) {
      await it.return(undefined as never);
      break;
    }
  }
  const tail = decoder?.flush() ?? '';
  text += tail;
  if (tail) write(tail);
  stats ??= {
    promptTokens: promptIds.length,
    generatedTokens: tokenIds.length,
    finishReason: 'stop',
    prefillMs: 0,
    decodeMs: 0,
    decodeTokensPerSecond: 0,
    prefillTokensPerSecond: 0,
  };
  return { promptIds, tokenIds, text: decoder ? text : '', stats };
}

/**
 * Interactive chat on a terminal: the whole conversation is re-rendered and prefilled each turn (Qwen3's template
 * rewrites earlier assistant turns, so the cached prefix would not match); /exit or Ctrl-C leaves.
 */
export async function chatLoop(m: OpenedModel, opts: CliOptions, statsLine: (r: RunResult) => void): Promise<void> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  const history: ChatMessage[] = [];
  const control: { stopped?: boolean } = {};
  let busy = false;
  let closed = false;
  rl.on('SIGINT', () => {
    if (busy) control.stopped = true;
    else rl.close();
  });
  rl.on('close', () => {
    closed = true;
  });
  process.stdout.write('Chat with the model; /exit or Ctrl-C leaves.\n');
  for (;;) {
    const line = await new Promise<string | undefined>((resolve) => {
      if (closed) return resolve(undefined);
      rl.once('close', () => resolve(undefined));
      rl.question('> ', resolve);
    });
    if (line === undefined || line.trim() === '/exit') break;
    if (line.trim() === '') continue;
    const ids = promptIdsOf(m, opts, line, history);
    busy = true;
    control.stopped = false;
    try {
      const r = await runOnce(m, opts, ids, (t) => process.stdout.write(t), control);
      process.stdout.write('\n');
      history.push({ role: 'user', content: line }, { role: 'assistant', content: r.text });
      if (!opts.quiet) statsLine(r);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      process.stderr.write(`qwen3-generate: ${err.message}; starting a new conversation\n`);
      history.length = 0;
    } finally {
      busy = false;
    }
  }
  rl.close();
}
