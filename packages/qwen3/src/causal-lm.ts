// One entry point for both backends: load a checkpoint from any source (a directory in Node; a URL, picked Files or
// ArrayBuffers anywhere) and get a causal LM with the same API.
import { createGpuContext, NoAdapterError, type GpuContext } from '@qwen3-webgpu/tensor';
import { isCheckpoint, loadQwen3Weights, openCheckpoint, type Checkpoint, type LoadProgress, type ModelSource } from '@qwen3-webgpu/weights';
import { CpuQwen3Model } from './cpu/model.ts';
import { guardDeviceLoss, type DeviceLossGuard } from './device-lost.ts';
import { loadCpuWeights } from './cpu/weights.ts';
import type { TokenBackend } from './generate.ts';
import type { ResolvedSampling } from './sampling.ts';
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
  /** One line per tensor holding NaN or ±Inf, as the loader finds it. */
  onWarning?: (line: string) => void;
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
    const model = new CpuQwen3Model(await loadCpuWeights(checkpoint, options.onWarning), options.maxContext ? { maxContext: options.maxContext } : {});
    return adapt(
      'cpu',
      model,
      async (ids) => model.forward(ids).logits,
      () => {},
    );
  }
  const ctx = options.ctx ?? (await createGpuContext());
  const weights = await loadQwen3Weights(ctx, checkpoint, {
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
  });
  const lm = new Qwen3ForCausalLM(ctx, weights, options.maxContext ? { maxContext: options.maxContext } : {});
  // Weights checked and stored, decode steps recorded: the first generation starts at the steady rate.
  try {
    await lm.prepare();
  } catch (err) {
    lm.destroy();
    weights.destroy();
    if (!options.ctx) ctx.destroy();
    throw err;
  }
  // After a device loss every call rejects with DeviceLostError (no hang, no empty message); destroy() still works.
  const guard = guardDeviceLoss(ctx.device);
  return adapt(
    'webgpu',
    lm,
    (ids) => guard.run(async () => (await lm.forward(ids)).logits),
    () => {
      lm.destroy();
      weights.destroy();
      if (!options.ctx) ctx.destroy();
    },
    guard.run,
  );

  function adapt(
    backend: 'webgpu' | 'cpu',
    model: TokenBackend,
    forward: CausalLM['forward'],
    destroy: () => void,
    run: DeviceLossGuard['run'] = (fn) => fn(),
  ): CausalLM {
    const { queueNext, discard } = model;
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
      next: (ids, sampling, u) => run(() => model.next(ids, sampling, u)),
      // Run-ahead where the backend can (generate() keeps several decode steps in flight through these).
      ...(queueNext && discard
        ? {
            queueNext: (sampling: ResolvedSampling, u: number) => handled(run(() => queueNext.call(model, sampling, u))),
            discard: (steps: number) => run(() => discard.call(model, steps)),
          }
        : {}),
      forward,
      destroy,
    };
  }
}

/**
 * A queued step's promise, marked handled: when the device is lost, generate() stops at the first rejection and the
 * steps queued behind it reject too, unawaited (awaiting the promise still throws).
 */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

export { NoAdapterError };
