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
 * One GPU buffer for checkpoint tensors stored back to back: one tensor, or a layer's q|k|v (see packable), whose
 * rows are stacked. A model too large for the adapter fails here, naming the (first) tensor and the limit: one buffer
 * over maxBufferSize, or the device out of memory (Dawn reports that through an error scope only).
 */
async function allocate(ctx: GpuContext, entries: readonly CheckpointTensor[]): Promise<Tensor> {
  const first = entries[0]!;
  const bytes = entries.reduce((sum, e) => sum + e.end - e.begin, 0);
  const others = entries
    .slice(1)
    .map((e) => `'${e.name}'`)
    .join(', ');
  const limit = ctx.limits.maxBufferSize;
  if (bytes > limit)
    throw new WeightsError(
      first.file,
      `needs ${bytes} bytes in one GPU buffer${others && ` with ${others}`}, over this adapter's maxBufferSize of ${limit} bytes`,
      first.name,
    );
  const shape = entries.length > 1 ? [entries.reduce((rows, e) => rows + e.shape[0]!, 0), ...first.shape.slice(1)] : first.shape;
  ctx.device.pushErrorScope('out-of-memory');
  const tensor = createTensor(ctx, shape, DTYPES[first.dtype], { label: entries.map((e) => e.name).join(' | ') });
  const oom = await ctx.device.popErrorScope();
  if (oom) {
    tensor.destroy();
    const what = others ? `${bytes} bytes for it and ${others} (one packed buffer)` : `its ${bytes} bytes`;
    throw new WeightsError(first.file, `out of GPU memory allocating ${what} (${oom.message.split('\n')[0]})`, first.name);
  }
  return tensor;
}

/** A layer's projections that share one GPU buffer when packable: prefill's q|k|v GEMM is then one dispatch. */
const QKV = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'] as const satisfies readonly LayerTensor[];

/**
 * Whether tensors can share one GPU buffer, back to back, and each still be bound alone (the decode GEMVs bind q, k
 * and v separately) as well as all together: one dtype, matrices with the same columns, each byte length a multiple
 * of minStorageBufferOffsetAlignment (so every view starts on a bindable offset), the whole within one storage binding.
 */
function packable(ctx: GpuContext, entries: readonly CheckpointTensor[]): boolean {
  const first = entries[0]!;
  const align = ctx.limits.minStorageBufferOffsetAlignment;
  const bytes = entries.reduce((sum, e) => sum + e.end - e.begin, 0);
  return (
    entries.every(
      (e) => e.dtype === first.dtype && e.shape.length === 2 && e.shape[1] === first.shape[1] && e.end > e.begin && (e.end - e.begin) % align === 0,
    ) && bytes <= Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize)
  );
}

/**
 * Uploads one checkpoint tensor into `tensor` (its own buffer or its rows of a packed one) through two staging
 * buffers, counting its non-finite values on the way: the next chunk is read (in libuv's thread pool, or over the
 * network) while this one is scanned and handed to writeBuffer, which copies it at once.
 */
async function uploadInto(
  ctx: GpuContext,
  entry: CheckpointTensor,
  tensor: Tensor,
  staging: [Uint8Array, Uint8Array],
  after: (bytes: number) => Promise<void>,
): Promise<number> {
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
  for (let done = 0, k = 0; done < length; k ^= 1) {
    const n = await next!;
    const buffer = staging[k]!;
    if (done + n < length) next = read(done + n, staging[k ^ 1]!);
    nonFinite += countNonFinite(buffer.subarray(0, n), entry.dtype);
    // writeBuffer moves whole words; a 16-bit tensor with an odd element count ends mid-word, in the buffer's padding
    // (a packed tensor never does: its byte length is a multiple of the offset alignment).
    const padded = Math.ceil(n / 4) * 4;
    if (padded !== n) buffer.fill(0, n, padded);
    ctx.device.queue.writeBuffer(tensor.buffer, tensor.byteOffset + done, buffer, 0, padded);
    done += n;
    await after(n);
  }
  return nonFinite;
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
  const entryOf = (name: string): CheckpointTensor => {
    const entry = checkpoint.tensors.get(name);
    if (!entry) throw new WeightsError(checkpoint.dir, 'missing required tensor', name);
    return entry;
  };
  /** Tensors uploaded back to back into one new buffer (one tensor, or a layer's packed q|k|v), each as a view of it. */
  const load = async (names: readonly string[]): Promise<WeightTensor[]> => {
    const entries = names.map(entryOf);
    const whole = await allocate(ctx, entries);
    uploaded.push(whole); // from here on a failure destroys it with the rest
    const out: WeightTensor[] = [];
    let row = 0;
    for (const entry of entries) {
      current = entry.name;
      const tensor = entries.length === 1 ? whole : whole.rows(row, entry.shape[0]!);
      row += entry.shape[0]!;
      // Sources that can tell (a directory, a URL) refuse a file that changed since its header was read: a file
      // rewritten while we read it would upload garbage. Read errors name the tensor.
      const nonFinite = await inTensor(entry.name, uploadInto(ctx, entry, tensor, staging, after));
      if (nonFinite > 0) {
        const line = nonFiniteWarning(entry.file, entry.name, nonFinite);
        warnings.push(line);
        options.onWarning?.(line);
      }
      out.push({ tensor, parts: splitRows(tensor) });
    }
    return out;
  };

  try {
    const [embedTokens] = await load(['model.embed_tokens.weight']);
    const layers: Qwen3LayerWeights[] = [];
    for (let layer = 0; layer < config.numHiddenLayers; layer++) {
      const weights = {} as Qwen3LayerWeights;
      const names = (ts: readonly LayerTensor[]) => ts.map((t) => layerTensorName(layer, t));
      for (const t of LAYER_TENSORS) {
        if (weights[t]) continue; // k_proj and v_proj, packed with q_proj
        const together = t === QKV[0] && packable(ctx, names(QKV).map(entryOf)) ? QKV : [t];
        const loaded = await load(names(together));
        together.forEach((n, i) => (weights[n] = loaded[i]!));
      }
      layers.push(weights);
    }
    const [norm] = await load(['model.norm.weight']);
    const lmHead = checkpoint.tensors.has('lm_head.weight') ? (await load(['lm_head.weight']))[0]! : embedTokens!;
    await ctx.device.queue.onSubmittedWorkDone();
    return {
      config,
      checkpoint,
      embedTokens: embedTokens!,
      layers,
      norm: norm!,
      lmHead,
      warnings,
      // One owner per buffer: a packed q|k|v buffer is destroyed once, its views not at all.
      destroy() {
        for (const t of uploaded) t.destroy();
      },
    };
  } catch (err) {
    for (const t of uploaded) t.destroy();
    throw err;
  }
}
