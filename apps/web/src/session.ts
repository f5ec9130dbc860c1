// The model side of the page, free of DOM: open a checkpoint from any source onto the browser's GPU (with progress),
// then stream a generation as text pieces. main.ts wires it to the form.
import {
  encodePrompt,
  generate,
  loadCausalLM,
  loadTokenizer,
  samplingDefaults,
  StreamDecoder,
  stopIdsWith,
  type CausalLM,
  type GenerationStats,
  type SamplingOptions,
  type TextTokenizer,
} from '@qwen3-webgpu/qwen3';
import { createGpuContext, type GpuContext } from '@qwen3-webgpu/tensor';
import { openCheckpoint, type Checkpoint, type LoadProgress, type ModelSource } from '@qwen3-webgpu/weights';

/** Why this browser cannot run the model, or undefined when it has WebGPU. */
export function missingWebGpu(): string | undefined {
  if (typeof navigator !== 'undefined' && 'gpu' in navigator && navigator.gpu) return undefined;
  return (
    'This browser has no WebGPU (navigator.gpu is missing), so the model cannot run here. Use a current Chrome or Edge ' +
    '(113+), Safari 26+, or Firefox 141+ on Windows; on Linux start Chromium with --enable-unsafe-webgpu (or enable ' +
    'chrome://flags/#enable-unsafe-webgpu). The page must come from https:// or http://localhost.'
  );
}

export interface Session {
  checkpoint: Checkpoint;
  lm: CausalLM;
  tokenizer: TextTokenizer;
  /** generation_config.json's sampling, or greedy. */
  defaults: SamplingOptions;
  /** The adapter, in words. */
  device: string;
  /** The checkpoint's warnings and the loader's, one line each (a tensor holding NaN or ±Inf, an unexpected tensor). */
  warnings: string[];
  destroy(): void;
}

/**
 * Positions of the KV cache: a page shares the GPU with everything else, and Qwen3-0.6B's f32 cache takes 229 KB per
 * position (940 MB at the CLI's 4096).
 */
export const PAGE_MAX_CONTEXT = 2048;

export async function openSession(source: ModelSource, onProgress: (p: LoadProgress) => void): Promise<Session> {
  const ctx: GpuContext = await createGpuContext();
  try {
    const checkpoint = await openCheckpoint(source);
    const tokenizer = await loadTokenizer(checkpoint);
    const maxContext = Math.min(PAGE_MAX_CONTEXT, checkpoint.config.maxPositionEmbeddings);
    const warnings = [...checkpoint.warnings];
    const lm = await loadCausalLM(checkpoint, { ctx, onProgress, maxContext, onWarning: (line) => warnings.push(line) });
    return {
      checkpoint,
      lm,
      tokenizer,
      defaults: samplingDefaults(checkpoint.generation),
      device: ctx.describe(),
      warnings,
      destroy() {
        lm.destroy();
        ctx.destroy();
      },
    };
  } catch (err) {
    ctx.destroy();
    throw err;
  }
}

export interface RunSettings extends SamplingOptions {
  maxTokens: number;
  seed?: number;
  /** Wrap the prompt in the chat template as the user's turn. */
  chat: boolean;
}

export interface RunResult {
  promptIds: number[];
  ids: number[];
  text: string;
  /** The generator's figures; undefined when stopped early. */
  stats: GenerationStats | undefined;
}

/** Streams the generated text piece by piece (a piece per token once it decodes to whole characters). */
export async function* run(session: Session, prompt: string, settings: RunSettings, shouldStop: () => boolean): AsyncGenerator<string, RunResult> {
  const { lm, tokenizer } = session;
  const promptIds = encodePrompt(tokenizer, prompt, { chat: settings.chat });
  const room = lm.maxContext - promptIds.length + 1;
  if (room < 1) throw new RangeError(`the prompt is ${promptIds.length} tokens, longer than the context of ${lm.maxContext} positions`);
  const { chat, maxTokens, seed, ...sampling } = settings;
  const decoder = new StreamDecoder(tokenizer);
  const ids: number[] = [];
  let text = '';
  const it = generate(lm, promptIds, {
    ...sampling,
    maxTokens: Math.min(maxTokens, room),
    stopIds: stopIdsWith(lm.stopIds, tokenizer, chat),
    ...(seed !== undefined ? { seed } : {}),
  });
  for (let r = await it.next(); ; r = await it.next()) {
    if (r.done) {
      const rest = decoder.flush();
      text += rest;
      if (rest) yield rest;
      return { promptIds, ids, text, stats: r.value };
    }
    ids.push(r.value);
    const piece = decoder.push(r.value);
    text += piece;
    if (piece) yield piece;
    if (shouldStop()) {
      await it.return(undefined as never);
      return { promptIds, ids, text: text + decoder.flush(), stats: undefined };
    }
  }
}
