// One entry point for both backends: load a checkpoint from any source (a directory in Node; a URL, picked Files or
// ArrayBuffers anywhere) and get a causal LM with the same API.
import { createGpuContext, NoAdapterError, type GpuContext } from '@qwen3-webgpu/tensor';
import { isCheckpoint, loadQwen3Weights, openCheckpoint, type Checkpoint, type LoadProgress, type ModelSource } from '@qwen3-webgpu/weights';
import { CpuQwen3Model } from './cpu/model.ts';
import { loadCpuWeights } from './cpu/weights.ts';
import type { TokenBackend } from './generate.ts';
import { Qwen3ForCausalLM } from './gpu/model.ts';

export interface CausalLM extends TokenBackend {
  readonly backend: 'webgpu' | 'cpu';
  readonly checkpoint: Checkpoint;
  /** Token ids that end generation: config.json's eos ids and generation_config.json's, deduplicated. */
  readonly stopIds: number[];
  /** Logits [seq, vocab] of ids at positions length …, appended to the context. */
  forward(ids: readonly number[]): Promise<Float32Array>;
  destroy(): void;
}

export interface LoadCausalLMOptions {
  /** 'webgpu' (default) or 'cpu'. */
  backend?: 'webgpu' | 'cpu';
  /** An existing GPU context (webgpu backend); otherwise one is created. */
  ctx?: GpuContext;
  maxContext?: number;
  onProgress?: (p: LoadProgress) => void;
}

export function stopIdsOf(checkpoint: Checkpoint): number[] {
  return [...new Set([...checkpoint.config.eosTokenIds, ...(checkpoint.generation?.eosTokenIds ?? [])])];
}

/**
 * Loads a Qwen3 checkpoint on the chosen backend: an opened Checkpoint, a directory path (Node), an http(s) URL of
 * the folder (weights streamed with Range requests), picked Files, or a name → Blob/ArrayBuffer map. Throws
 * NoAdapterError for webgpu without an adapter, WeightsError for a bad checkpoint.
 */
export async function loadCausalLM(source: ModelSource | Checkpoint, options: LoadCausalLMOptions = {}): Promise<CausalLM> {
  const checkpoint = isCheckpoint(source) ? source : await openCheckpoint(source);
  const stopIds = stopIdsOf(checkpoint);
  if ((options.backend ?? 'webgpu') === 'cpu') {
    const model = new CpuQwen3Model(await loadCpuWeights(checkpoint), options.maxContext ? { maxContext: options.maxContext } : {});
    return adapt('cpu', model, async (ids) => model.forward(ids).logits, () => {});
  }
  const ctx = options.ctx ?? (await createGpuContext());
  const weights = await loadQwen3Weights(ctx, checkpoint, options.onProgress ? { onProgress: options.onProgress } : {});
  const lm = new Qwen3ForCausalLM(ctx, weights, options.maxContext ? { maxContext: options.maxContext } : {});
  return adapt('webgpu', lm, async (ids) => (await lm.forward(ids)).logits, () => {
    lm.destroy();
    weights.destroy();
    if (!options.ctx) ctx.destroy();
  });

  function adapt(backend: 'webgpu' | 'cpu', model: TokenBackend, forward: CausalLM['forward'], destroy: () => void): CausalLM {
    return {
      backend,
      checkpoint,
      stopIds,
      get maxContext() {
        return model.maxContext;
      },
      get vocabSize() {
        return model.vocabSize;
      },
      get length() {
        return model.length;
      },
      reset: () => model.reset(),
      next: (ids, sampling, u) => model.next(ids, sampling, u),
      forward,
      destroy,
    };
  }
}

export { NoAdapterError };
