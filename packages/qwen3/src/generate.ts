// generate(): prompt → streamed token ids, the same loop for both backends. A backend feeds ids into its KV cache and
// picks the next token (the WebGPU backend samples on the GPU and returns only the id).
import { createRng } from '@qwen3-webgpu/tensor';
import { resolveSampling, type ResolvedSampling, type SamplingOptions } from './sampling.ts';

export interface TokenBackend {
  readonly maxContext: number;
  readonly vocabSize: number;
  /** Positions in the KV cache. */
  readonly length: number;
  reset(): void;
  /** Appends ids to the context (marking them seen for penalties) and picks the next token with u ∈ [0, 1). */
  next(ids: readonly number[], sampling: ResolvedSampling, u: number): Promise<number>;
  /**
   * Run-ahead (optional): queues a step fed by the id the previous step picked, without waiting for it, and returns
   * the promise of the id this step picks.
   */
  queueNext?(sampling: ResolvedSampling, u: number): Promise<number>;
  /** With queueNext: drops the newest queued steps once they have run, as if they had never been queued. */
  discard?(steps: number): Promise<void>;
}

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most; default 256. */
  maxTokens?: number;
  /** Ids that end generation (not emitted). Default: none; callers pass config + generation_config eos ids. */
  stopIds?: readonly number[];
  /** Seed of the draws (same seed, same backend → same tokens); default random. */
  seed?: number;
  /** Keep the KV cache from the previous call and continue after it (chat); default false. */
  continueContext?: boolean;
  /**
   * Decode steps in flight on backends that can run ahead (the WebGPU one): step t + 1 is submitted before step
   * t's id is back, and steps past a stop id are discarded. 1 = step by step. Default 3. Output is the same.
   */
  runAhead?: number;
}

export interface GenerationStats {
  promptTokens: number;
  generatedTokens: number;
  finishReason: 'stop' | 'length';
  prefillMs: number;
  decodeMs: number;
  /** Generated tokens after the first per second of decoding. */
  decodeTokensPerSecond: number;
  prefillTokensPerSecond: number;
}

/** Streams generated ids; the generator's return value carries the stats. */
export async function* generate(backend: TokenBackend, promptIds: readonly number[], options: GenerateOptions = {}): AsyncGenerator<number, GenerationStats> {
  const sampling = resolveSampling(options);
  const maxTokens = options.maxTokens ?? 256;
  if (!Number.isInteger(maxTokens) || maxTokens < 0) throw new RangeError(`max tokens must be a non-negative integer, got ${maxTokens}`);
  if (promptIds.length === 0) throw new RangeError('the prompt is empty');
  for (const id of promptIds) {
    if (!Number.isInteger(id) || id < 0 || id >= backend.vocabSize) throw new RangeError(`prompt id ${id} is outside the vocabulary [0, ${backend.vocabSize})`);
  }
  if (!options.continueContext) backend.reset();
  const needed = backend.length + promptIds.length + Math.max(0, maxTokens - 1);
  if (needed > backend.maxContext) {
    throw new RangeError(`prompt (${promptIds.length} tokens) + ${maxTokens} new tokens need ${needed} positions, over the max context ${backend.maxContext}`);
  }
  const stop = new Set(options.stopIds ?? []);
  const rng = createRng(options.seed);
  const stats: GenerationStats = {
    promptTokens: promptIds.length,
    generatedTokens: 0,
    finishReason: 'length',
    prefillMs: 0,
    decodeMs: 0,
    decodeTokensPerSecond: 0,
    prefillTokensPerSecond: 0,
  };
  if (maxTokens === 0) return stats;
  let t0 = performance.now();
  let token = await backend.next(promptIds, sampling, rng.next());
  stats.prefillMs = performance.now() - t0;
  stats.prefillTokensPerSecond = promptIds.length / (stats.prefillMs / 1000);
  t0 = performance.now();
  const depth = options.runAhead ?? 3;
  if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`runAhead must be a positive integer, got ${depth}`);
  const queueNext = depth > 1 && backend.queueNext && backend.discard ? backend.queueNext.bind(backend) : undefined;
  // Decode steps queued and not yet consumed, oldest first; at most maxTokens − 1 are ever queued.
  const queued: Promise<number>[] = [];
  let submitted = 0;
  try {
    for (;;) {
      if (stop.has(token)) {
        stats.finishReason = 'stop';
        break;
      }
      stats.generatedTokens++;
      // Submitted before the consumer sees this token, so the GPU works while the host streams it.
      while (queueNext && queued.length < depth && submitted < maxTokens - 1) {
        queued.push(queueNext(sampling, rng.next()));
        submitted++;
      }
      yield token;
      if (stats.generatedTokens >= maxTokens) break;
      token = queueNext ? await queued.shift()! : await backend.next([token], sampling, rng.next());
    }
  } finally {
    // Steps computed past a stop (or past an abandoned iteration) leave the cache as if never run.
    if (queued.length > 0) await backend.discard!(queued.length);
  }
  stats.decodeMs = performance.now() - t0;
  stats.decodeTokensPerSecond = stats.generatedTokens > 1 ? (stats.generatedTokens - 1) / (stats.decodeMs / 1000) : 0;
  return stats;
}
