// Opening the model for the CLI: the directory (given or embedded), the backend (webgpu, or cpu when no adapter),
// the tokenizer when there is one, and the sampling defaults of generation_config.json.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hasTokenizer, loadCausalLM, samplingDefaults, type CausalLM, type SamplingOptions } from '@qwen3-webgpu/qwen3';
import { openCliGpuContext } from '@qwen3-webgpu/cli-kit/gpu';
import { NoAdapterError, type GpuContext } from '@qwen3-webgpu/tensor';
import { openCheckpoint, type Checkpoint } from '@qwen3-webgpu/weights';
import type { CliOptions } from './args.ts';
import { RuntimeError, UsageError } from '@qwen3-webgpu/cli-kit/errors';
import { requireDirectory } from '@qwen3-webgpu/cli-kit/flags';
import type { ProgressBar } from './progress.ts';
import { loadTokenizer, type TextTokenizer } from './tokenizer.ts';

/** The demonstration model shipped with the CLI (apps/generate/model, next to dist/). */
export const EMBEDDED_MODEL = fileURLToPath(new URL('../model', import.meta.url));

export interface OpenedModel {
  dir: string;
  lm: CausalLM;
  /** The GPU context (webgpu backend). */
  ctx: GpuContext | undefined;
  checkpoint: Checkpoint;
  tokenizer: TextTokenizer | undefined;
  /** 'webgpu (adapter description)' or 'cpu'. */
  device: string;
  loadSeconds: number;
  /** Sampling defaults: generation_config.json's when it samples, else greedy. */
  defaults: SamplingOptions;
  /** Frees the model and the GPU context this module made for it. */
  destroy(): void;
}

export function modelDir(opts: CliOptions): string {
  if (opts.model === undefined) {
    if (!existsSync(EMBEDDED_MODEL)) throw new UsageError(`no --model given and the embedded model is missing (${EMBEDDED_MODEL}); pass --model DIR`);
    return EMBEDDED_MODEL;
  }
  requireDirectory(`--model ${opts.model}`, opts.model);
  return opts.model;
}

/** Reads config, index and headers only (cheap): enough to validate the prompt before loading any weights. */
export async function openModelFiles(dir: string, needTokenizer: boolean): Promise<{ checkpoint: Checkpoint; tokenizer: TextTokenizer | undefined }> {
  const checkpoint = await openCheckpoint(dir);
  const tokenizer = needTokenizer || (await hasTokenizer(checkpoint)) ? await loadTokenizer(dir) : undefined;
  return { checkpoint, tokenizer };
}

/** bar: the caller's progress bar (drawn while weights load; notices clear it first). */
export async function loadModel(
  dir: string,
  checkpoint: Checkpoint,
  tokenizer: TextTokenizer | undefined,
  opts: CliOptions,
  notice: (line: string) => void,
  bar?: ProgressBar,
): Promise<OpenedModel> {
  const start = performance.now();
  let ctx: GpuContext | undefined;
  if (opts.backend !== 'cpu') {
    try {
      ctx = await openCliGpuContext();
    } catch (err) {
      if (!(err instanceof NoAdapterError)) throw err;
      if (opts.backend === 'webgpu') throw new RuntimeError(`--backend webgpu: ${err.message}`);
      notice(`qwen3-generate: no WebGPU adapter, running on the CPU backend (${err.message.split('\n')[0]})`);
    }
  }
  let lm: CausalLM;
  try {
    lm = await loadCausalLM(checkpoint, {
      backend: ctx ? 'webgpu' : 'cpu',
      ...(ctx ? { ctx } : {}),
      ...(opts.maxContext !== undefined ? { maxContext: opts.maxContext } : {}),
      ...(bar ? { onProgress: bar.update } : {}),
      onWarning: (line) => {
        bar?.clear();
        notice(`qwen3-generate: warning: ${line}`);
      },
    });
  } catch (err) {
    ctx?.destroy();
    throw err;
  }
  return {
    dir,
    lm,
    ctx,
    checkpoint,
    tokenizer,
    device: ctx ? `webgpu (${ctx.info.description || ctx.info.device || ctx.info.vendor})` : 'cpu',
    loadSeconds: (performance.now() - start) / 1000,
    defaults: samplingDefaults(checkpoint.generation),
    destroy() {
      lm.destroy();
      ctx?.destroy();
    },
  };
}
