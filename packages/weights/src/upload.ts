// Streams checkpoint tensors into GPU buffers from any source (disk, HTTP Range requests, picked Files, memory):
// ranged reads into two reused staging buffers, then queue.writeBuffer. A multi-GB file is never read into memory;
// host memory stays at about the staging size plus what the driver holds between waits.
import { createTensor, splitRows, type GpuContext, type RowPart, type Tensor } from '@qwen3-webgpu/tensor';
import { isCheckpoint, openCheckpoint, type Checkpoint, type CheckpointTensor } from './checkpoint.ts';
import type { Qwen3Config } from './config.ts';
import { WeightsError } from './errors.ts';
import { countNonFinite, nonFiniteWarning } from './non-finite.ts';
import { LAYER_TENSORS, layerTensorName, type LayerTensor } from './names.ts';
import { inTensor } from './sources/files.ts';
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
  /** One line per tensor holding NaN or ±Inf (also passed to LoadOptions.onWarning as found). */
  warnings: string[];
  destroy(): void;
}

export interface LoadProgress {
  bytesDone: number;
  bytesTotal: number;
  tensor: string;
}

export interface LoadOptions {
  onProgress?: (p: LoadProgress) => void;
  /** Size of each of the two staging buffers, default 8 MiB. */
  chunkBytes?: number;
  /** Wait for the GPU queue after this many bytes (lets the driver recycle its upload memory), default 64 MiB. */
  drainBytes?: number;
  /** One line per tensor holding NaN or ±Inf, as it is found. */
  onWarning?: (line: string) => void;
}

const DTYPES = { BF16: 'bf16', F16: 'f16', F32: 'f32' } as const;

/**
 * The GPU buffer for one checkpoint tensor. A model too large for the adapter fails here, naming the tensor and the
 * limit: one buffer over maxBufferSize, or the device out of memory (Dawn reports that through an error scope only).
 */
async function allocate(ctx: GpuContext, entry: CheckpointTensor): Promise<Tensor> {
  const bytes = entry.end - entry.begin;
  const limit = ctx.limits.maxBufferSize;
  if (bytes > limit)
    throw new WeightsError(entry.file, `needs ${bytes} bytes in one GPU buffer, over this adapter's maxBufferSize of ${limit} bytes`, entry.name);
  ctx.device.pushErrorScope('out-of-memory');
  const tensor = createTensor(ctx, entry.shape, DTYPES[entry.dtype], { label: entry.name });
  const oom = await ctx.device.popErrorScope();
  if (oom) {
    tensor.destroy();
    throw new WeightsError(entry.file, `out of GPU memory allocating its ${bytes} bytes (${oom.message.split('\n')[0]})`, entry.name);
  }
  return tensor;
}

/**
 * Uploads one checkpoint tensor through two staging buffers, counting its non-finite values on the way: the next
 * chunk is read (in libuv's thread pool, or over the network) while this one is scanned and handed to writeBuffer,
 * which copies it at once. A failed read destroys the half-filled buffer.
 */
async function uploadOne(
  ctx: GpuContext,
  entry: CheckpointTensor,
  staging: [Uint8Array, Uint8Array],
  after: (bytes: number) => Promise<void>,
): Promise<{ tensor: Tensor; nonFinite: number }> {
  const tensor = await allocate(ctx, entry);
  const length = entry.end - entry.begin;
  const chunk = staging[0].byteLength;
  const read = (done: number, into: Uint8Array): Promise<number> => {
    const n = Math.min(chunk, length - done);
    const p = entry.source.read(into.subarray(0, n), entry.begin + done).then(() => n);
    p.catch(() => {}); // awaited below; this only keeps a read still in flight when an error ends the loop quiet
    return p;
  };
  let nonFinite = 0;
  let next = length > 0 ? read(0, staging[0]) : undefined;
  try {
    for (let done = 0, k = 0; done < length; k ^= 1) {
      const n = await next!;
      const buffer = staging[k]!;
      if (done + n < length) next = read(done + n, staging[k ^ 1]!);
      nonFinite += countNonFinite(buffer.subarray(0, n), entry.dtype);
      // writeBuffer moves whole words; a 16-bit tensor with an odd element count ends mid-word, in the buffer's padding.
      const padded = Math.ceil(n / 4) * 4;
      if (padded !== n) buffer.fill(0, n, padded);
      ctx.device.queue.writeBuffer(tensor.buffer, done, buffer, 0, padded);
      done += n;
      await after(n);
    }
  } catch (err) {
    tensor.destroy();
    throw err;
  }
  return { tensor, nonFinite };
}

/**
 * Loads a Qwen3 checkpoint onto the GPU: an opened Checkpoint, or any source openCheckpoint takes (directory, URL,
 * picked Files, ArrayBuffers). Tensors larger than the adapter's binding limit come with several parts (splitRows).
 */
export async function loadQwen3Weights(ctx: GpuContext, source: ModelSource | Checkpoint, options: LoadOptions = {}): Promise<Qwen3Weights> {
  const checkpoint = isCheckpoint(source) ? source : await openCheckpoint(source);
  const { config } = checkpoint;
  const chunkBytes = options.chunkBytes ?? 8 << 20;
  const staging: [Uint8Array, Uint8Array] = [new Uint8Array(chunkBytes), new Uint8Array(chunkBytes)];
  const drainBytes = options.drainBytes ?? 64 << 20;
  const uploaded: Tensor[] = [];
  let bytesDone = 0;
  let sinceDrain = 0;
  let current = '';
  const warnings: string[] = [];

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
    // Sources that can tell (a directory, a URL) refuse a file that changed since its header was read: a file
    // rewritten while we read it would upload garbage. Read errors name the tensor.
    const { tensor, nonFinite } = await inTensor(name, uploadOne(ctx, entry, staging, after));
    uploaded.push(tensor);
    if (nonFinite > 0) {
      const line = nonFiniteWarning(entry.file, name, nonFinite);
      warnings.push(line);
      options.onWarning?.(line);
    }
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
      warnings,
      destroy() {
        for (const t of uploaded) t.destroy();
      },
    };
  } catch (err) {
    for (const t of uploaded) t.destroy();
    throw err;
  }
}
