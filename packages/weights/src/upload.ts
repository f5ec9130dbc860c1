// Streams checkpoint tensors into GPU buffers from any source (disk, HTTP Range requests, picked Files, memory):
// ranged reads into one reused staging buffer, then queue.writeBuffer. A multi-GB file is never read into memory;
// host memory stays at about the staging size plus what the driver holds between waits.
import { createTensor, splitRows, type GpuContext, type RowPart, type Tensor } from '@qwen3-webgpu/tensor';
import { isCheckpoint, openCheckpoint, type Checkpoint, type CheckpointTensor } from './checkpoint.ts';
import type { Qwen3Config } from './config.ts';
import { WeightsError } from './errors.ts';
import { LAYER_TENSORS, layerTensorName, type LayerTensor } from './names.ts';
import type { ModelSource } from './sources/resolve.ts';

/** A weight on the GPU, with row-range views that each fit one storage binding (one part when it fits whole). */
export interface WeightTensor {
  tensor: Tensor;
  parts: RowPart[];
}

export type Qwen3LayerWeights = Record<LayerTensor, WeightTensor>;

export interface Qwen3Weights {
  config: Qwen3Config;
  checkpoint: Checkpoint;
  embedTokens: WeightTensor;
  layers: Qwen3LayerWeights[];
  norm: WeightTensor;
  /** lm_head.weight, or the embedding itself when the config ties them and the file has no lm_head. */
  lmHead: WeightTensor;
  destroy(): void;
}

export interface LoadProgress {
  bytesDone: number;
  bytesTotal: number;
  tensor: string;
}

export interface LoadOptions {
  onProgress?: (p: LoadProgress) => void;
  /** Staging buffer size, default 8 MiB. */
  chunkBytes?: number;
  /** Wait for the GPU queue after this many bytes (lets the driver recycle its upload memory), default 64 MiB. */
  drainBytes?: number;
}

const DTYPES = { BF16: 'bf16', F16: 'f16', F32: 'f32' } as const;

/** Uploads one checkpoint tensor through `staging`; returns bytes moved. */
async function uploadOne(ctx: GpuContext, entry: CheckpointTensor, staging: Uint8Array, after: (bytes: number) => Promise<void>): Promise<Tensor> {
  const tensor = createTensor(ctx, entry.shape, DTYPES[entry.dtype], { label: entry.name });
  const length = entry.end - entry.begin;
  for (let done = 0; done < length; ) {
    const n = Math.min(staging.byteLength, length - done);
    const view = staging.subarray(0, n);
    await entry.source.read(view, entry.begin + done);
    // writeBuffer moves whole words; a 16-bit tensor with an odd element count ends mid-word, in the buffer's padding.
    const padded = Math.ceil(n / 4) * 4;
    if (padded !== n) staging.fill(0, n, padded);
    ctx.device.queue.writeBuffer(tensor.buffer, done, staging, 0, padded);
    done += n;
    await after(n);
  }
  return tensor;
}

/**
 * Loads a Qwen3 checkpoint onto the GPU: an opened Checkpoint, or any source openCheckpoint takes (directory, URL,
 * picked Files, ArrayBuffers). Tensors larger than the adapter's binding limit come with several parts (splitRows).
 */
export async function loadQwen3Weights(ctx: GpuContext, source: ModelSource | Checkpoint, options: LoadOptions = {}): Promise<Qwen3Weights> {
  const checkpoint = isCheckpoint(source) ? source : await openCheckpoint(source);
  const { config } = checkpoint;
  const staging = new Uint8Array(options.chunkBytes ?? 8 << 20);
  const drainBytes = options.drainBytes ?? 64 << 20;
  const uploaded: Tensor[] = [];
  let bytesDone = 0;
  let sinceDrain = 0;
  let current = '';

  const after = async (n: number) => {
    bytesDone += n;
    sinceDrain += n;
    if (sinceDrain >= drainBytes) {
      sinceDrain = 0;
      await ctx.device.queue.onSubmittedWorkDone();
    }
    options.onProgress?.({ bytesDone, bytesTotal: checkpoint.totalBytes, tensor: current });
  };
  const load = async (name: string): Promise<WeightTensor> => {
    const entry = checkpoint.tensors.get(name);
    if (!entry) throw new WeightsError(checkpoint.dir, 'missing required tensor', name);
    current = name;
    const tensor = await uploadOne(ctx, entry, staging, after);
    uploaded.push(tensor);
    return { tensor, parts: splitRows(tensor) };
  };

  try {
    const embedTokens = await load('model.embed_tokens.weight');
    const layers: Qwen3LayerWeights[] = [];
    for (let layer = 0; layer < config.numHiddenLayers; layer++) {
      const weights = {} as Qwen3LayerWeights;
      for (const t of LAYER_TENSORS) weights[t] = await load(layerTensorName(layer, t));
      layers.push(weights);
    }
    const norm = await load('model.norm.weight');
    const lmHead = checkpoint.tensors.has('lm_head.weight') ? await load('lm_head.weight') : embedTokens;
    await ctx.device.queue.onSubmittedWorkDone();
    return {
      config,
      checkpoint,
      embedTokens,
      layers,
      norm,
      lmHead,
      destroy() {
        for (const t of uploaded) t.destroy();
      },
    };
  } catch (err) {
    for (const t of uploaded) t.destroy();
    throw err;
  }
}

