import { closeSync, openSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adjacentRows, readBytes, type GpuContext } from '@qwen3-webgpu/tensor';
import { openTestContext } from '@qwen3-webgpu/tensor/testing';
import {
  loadQwen3Weights,
  openCheckpoint,
  QWEN3_0_6B_CONFIG,
  readTensorF32,
  type Checkpoint,
  type LoadProgress,
  type Qwen3LayerWeights,
  type Qwen3Weights,
  type WeightTensor,
} from '../src/index.ts';
import { writeSyntheticCheckpoint } from '../src/node/index.ts';
import { join } from 'node:path';
import { tempDir, tinyConfig } from './helpers.ts';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await openTestContext();
});
afterAll(() => ctx?.destroy());

/** Every byte of a GPU weight equals the bytes of its range in the file. */
async function expectSameBytes(w: WeightTensor, file: string, begin: number, end: number) {
  const gpu = await readBytes(w.tensor);
  const disk = readFileSync(file).subarray(begin, end);
  expect(Buffer.compare(Buffer.from(gpu.subarray(0, end - begin)), disk)).toBe(0);
}

describe('loadQwen3Weights', () => {
  for (const [label, options] of [
    ['tied bf16, one file', { config: tinyConfig() }],
    ['untied f16, three shards', { config: tinyConfig({ tie_word_embeddings: false, torch_dtype: 'float16' }), dtype: 'F16', shards: 3 }],
    ['f32 with an odd hidden size', { config: tinyConfig({ hidden_size: 33, vocab_size: 51 }), dtype: 'F32' }],
    ['bf16 with an odd element count (hidden 33)', { config: tinyConfig({ hidden_size: 33, vocab_size: 51 }), dtype: 'BF16' }],
  ] as const) {
    it(`uploads every tensor byte for byte: ${label}`, async () => {
      const dir = tempDir('upload');
      await writeSyntheticCheckpoint(dir, { seed: 3, ...options });
      const checkpoint = await openCheckpoint(dir);
      const progress: LoadProgress[] = [];
      const weights = await loadQwen3Weights(ctx, checkpoint, { onProgress: (p) => progress.push(p), chunkBytes: 1024 });
      const byName = new Map<string, WeightTensor>([
        ['model.embed_tokens.weight', weights.embedTokens],
        ['model.norm.weight', weights.norm],
      ]);
      if (!checkpoint.config.tieWordEmbeddings) byName.set('lm_head.weight', weights.lmHead);
      weights.layers.forEach((layer, i) => {
        for (const [t, w] of Object.entries(layer)) byName.set(`model.layers.${i}.${t}.weight`, w);
      });
      expect(byName.size).toBe(checkpoint.tensors.size);
      for (const [name, w] of byName) {
        const entry = checkpoint.tensors.get(name)!;
        expect(w.tensor.shape).toEqual(entry.shape);
        await expectSameBytes(w, entry.file, entry.begin, entry.end);
      }
      expect(weights.lmHead === weights.embedTokens).toBe(checkpoint.config.tieWordEmbeddings);
      expect(progress.at(-1)).toMatchObject({ bytesDone: checkpoint.totalBytes, bytesTotal: checkpoint.totalBytes });
      expect(progress.every((p, i) => i === 0 || p.bytesDone >= progress[i - 1]!.bytesDone)).toBe(true);
      weights.destroy();
      rmSync(dir, { recursive: true });
    });
  }

  it('loads a Qwen3-0.6B-shaped checkpoint (1.2 GB bf16) with bounded host memory, splitting the embedding', async () => {
    const dir = tempDir('qwen3-0.6b');
    try {
      await writeSyntheticCheckpoint(dir, { config: { ...QWEN3_0_6B_CONFIG }, seed: 1 });
      const checkpoint = await openCheckpoint(dir);
      globalThis.gc?.();
      const before = process.memoryUsage();
      let peakRss = before.rss;
      let peakJs = 0;
      const start = performance.now();
      const weights: Qwen3Weights = await loadQwen3Weights(ctx, checkpoint, {
        onProgress: () => {
          const m = process.memoryUsage();
          peakRss = Math.max(peakRss, m.rss);
          peakJs = Math.max(peakJs, m.heapUsed + m.external - before.heapUsed - before.external);
        },
      });
      const seconds = (performance.now() - start) / 1000;
      const gpuBytes = checkpoint.totalBytes;
      // On lavapipe the "GPU" buffers live in this process's memory, so RSS grows by their size too; what must stay
      // small is everything else: RSS growth minus the weights' own bytes, and the JS-visible growth.
      const overheadMB = (peakRss - before.rss - gpuBytes) / 2 ** 20;
      console.log(
        `Qwen3-0.6B synthetic (${(gpuBytes / 1e9).toFixed(2)} GB) loaded in ${seconds.toFixed(1)} s ` +
          `(${(gpuBytes / 1e6 / seconds).toFixed(0)} MB/s) on ${ctx.info.description}; peak RSS growth ${((peakRss - before.rss) / 2 ** 20).toFixed(0)} MiB ` +
          `= weights ${(gpuBytes / 2 ** 20).toFixed(0)} MiB + ${overheadMB.toFixed(0)} MiB host overhead; peak JS heap+external growth ${(peakJs / 2 ** 20).toFixed(0)} MiB`,
      );
      expect(overheadMB).toBeLessThan(300);
      expect(peakJs).toBeLessThan(300 * 2 ** 20);
      const bindingLimit = ctx.limits.maxStorageBufferBindingSize;
      // 311 MB of embedding: several binding parts on lavapipe (128 MiB), one where bindings are larger.
      if (151936 * 1024 * 2 > bindingLimit) expect(weights.embedTokens.parts.length).toBeGreaterThan(1);
      else expect(weights.embedTokens.parts.length).toBe(1);
      for (const p of weights.embedTokens.parts) expect(p.tensor.bindingSize).toBeLessThanOrEqual(bindingLimit);
      expect(weights.embedTokens.parts.reduce((n, p) => n + p.rowCount, 0)).toBe(151936);
      // q|k|v: 4 + 2 + 2 MiB, multiples of any adapter's offset alignment, in one buffer (and one binding) per layer.
      weights.layers.forEach((layer, i) => expectQkvPacked(layer, true, `layer ${i}`));
      const entry = checkpoint.tensors.get('model.layers.27.mlp.down_proj.weight')!;
      await expectSameBytes(weights.layers[27]!['mlp.down_proj'], entry.file, entry.begin, entry.end);
      weights.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const QKV = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'] as const;

/** Whether a layer's q, k and v are views of one buffer, back to back (else each owns its own buffer). */
function expectQkvPacked(layer: Qwen3LayerWeights, packed: boolean, label: string) {
  const [q, k, v] = QKV.map((t) => layer[t].tensor) as [WeightTensor['tensor'], WeightTensor['tensor'], WeightTensor['tensor']];
  if (packed) {
    expect([k.buffer === q.buffer, v.buffer === q.buffer], label).toEqual([true, true]);
    expect([q.byteOffset, k.byteOffset, v.byteOffset], label).toEqual([0, q.byteLength, q.byteLength + k.byteLength]);
    expect([q.owner, k.owner, v.owner], label).toEqual([false, false, false]);
    expect(adjacentRows([q, k, v])?.shape, label).toEqual([q.shape[0]! + k.shape[0]! + v.shape[0]!, q.shape[1]]);
  } else {
    expect(new Set([q.buffer, k.buffer, v.buffer]).size, label).toBe(3);
    expect([q.owner, k.owner, v.owner], label).toEqual([true, true, true]);
    expect(adjacentRows([q, k, v]), label).toBeUndefined();
  }
  for (const t of QKV)
    expect(
      layer[t].parts.map((p) => p.tensor),
      `${label} ${t} parts`,
    ).toEqual([layer[t].tensor]);
}

/** Every q/k/v weight of every layer equals its bytes in the file. */
async function expectQkvBytes(weights: Qwen3Weights, checkpoint: Checkpoint) {
  for (const [i, layer] of weights.layers.entries()) {
    for (const t of QKV) {
      const entry = checkpoint.tensors.get(`model.layers.${i}.${t}.weight`)!;
      await expectSameBytes(layer[t], entry.file, entry.begin, entry.end);
    }
  }
}

/**
 * Runs `load` while counting the GPU buffers created and how often each is destroyed (destroy() on the buffer
 * object, so views, which never call it, do not count).
 */
async function trackBuffers<T>(load: () => Promise<T>): Promise<{ result: PromiseSettledResult<T>; destroyed: () => number[] }> {
  const counts = new Map<GPUBuffer, number>();
  const create = ctx.device.createBuffer.bind(ctx.device);
  ctx.device.createBuffer = (descriptor) => {
    const buffer = create(descriptor);
    const destroy = buffer.destroy.bind(buffer);
    counts.set(buffer, 0);
    buffer.destroy = () => {
      counts.set(buffer, counts.get(buffer)! + 1);
      destroy();
    };
    return buffer;
  };
  try {
    const [result] = await Promise.allSettled([load()]);
    return { result: result!, destroyed: () => [...counts.values()] };
  } finally {
    ctx.device.createBuffer = create;
  }
}

describe('q|k|v in one buffer per layer', () => {
  it("packs each layer's q_proj, k_proj, v_proj back to back; destroy() frees each buffer once", async () => {
    const dir = tempDir('packed');
    try {
      await writeSyntheticCheckpoint(dir, { config: tinyConfig({ tie_word_embeddings: false }), seed: 5, shards: 2 });
      const checkpoint = await openCheckpoint(dir);
      const { result, destroyed } = await trackBuffers(() => loadQwen3Weights(ctx, checkpoint, { chunkBytes: 512 }));
      if (result.status === 'rejected') throw result.reason;
      const weights = result.value;
      weights.layers.forEach((layer, i) => expectQkvPacked(layer, true, `layer ${i}`));
      await expectQkvBytes(weights, checkpoint);
      // One buffer per tensor but two per layer (k_proj, v_proj live in q_proj's).
      expect(destroyed()).toHaveLength(checkpoint.tensors.size - 2 * weights.layers.length);
      weights.destroy();
      expect(destroyed().every((n) => n === 1)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uploads them separately when q and k differ in dtype (layer 0 only), bytes unchanged', async () => {
    const dir = tempDir('mixed-dtype');
    try {
      await writeSyntheticCheckpoint(dir, { config: tinyConfig(), seed: 6, dtypes: { 'model.layers.0.self_attn.k_proj.weight': 'F32' } });
      const checkpoint = await openCheckpoint(dir);
      const weights = await loadQwen3Weights(ctx, checkpoint);
      expect(weights.layers[0]!['self_attn.k_proj'].tensor.dtype).toBe('f32');
      expectQkvPacked(weights.layers[0]!, false, 'layer 0 (k_proj f32)');
      expectQkvPacked(weights.layers[1]!, true, 'layer 1');
      await expectQkvBytes(weights, checkpoint);
      weights.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uploads them separately when a byte length is not a multiple of the offset alignment, or all three exceed one binding', async () => {
    const dir = tempDir('unaligned');
    try {
      // hidden 33: q_proj is 64 × 33 bf16 = 4224 bytes, a multiple of lavapipe's 16-byte alignment, not of 256 (the
      // WebGPU default most GPUs report).
      await writeSyntheticCheckpoint(dir, { config: tinyConfig({ hidden_size: 33, vocab_size: 51 }), seed: 7 });
      const checkpoint = await openCheckpoint(dir);
      const withLimits = (override: Record<string, number>): GpuContext => {
        const limits = new Proxy(ctx.limits, { get: (t, k) => (k in override ? override[k as string] : (t as unknown as Record<PropertyKey, unknown>)[k]) });
        return { ...ctx, limits };
      };
      const cases: [string, GpuContext, boolean][] = [
        [`this adapter's alignment (${ctx.limits.minStorageBufferOffsetAlignment})`, ctx, 4224 % ctx.limits.minStorageBufferOffsetAlignment === 0],
        ['alignment 256', withLimits({ minStorageBufferOffsetAlignment: 256 }), false],
        // 4224 + 2 × 2112 = 8448 bytes: each fits a binding of 8000, the three together do not.
        ['bindings of 8000 bytes', withLimits({ minStorageBufferOffsetAlignment: 64, maxStorageBufferBindingSize: 8000 }), false],
        ['bindings of 8448 bytes', withLimits({ minStorageBufferOffsetAlignment: 64, maxStorageBufferBindingSize: 8448 }), true],
      ];
      for (const [label, context, packed] of cases) {
        const weights = await loadQwen3Weights(context, checkpoint);
        weights.layers.forEach((layer, i) => expectQkvPacked(layer, packed, `${label}, layer ${i}`));
        await expectQkvBytes(weights, checkpoint);
        weights.destroy();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a read failing inside a packed buffer (k_proj) names k_proj and destroys every buffer made so far, once', async () => {
    const dir = tempDir('packed-fault');
    try {
      await writeSyntheticCheckpoint(dir, { config: tinyConfig(), seed: 8 });
      const checkpoint = await openCheckpoint(dir);
      const file = join(dir, 'model.safetensors');
      const size = statSync(file).size;
      const name = 'model.layers.0.self_attn.k_proj.weight';
      let once = false;
      const { result, destroyed } = await trackBuffers(() =>
        loadQwen3Weights(ctx, checkpoint, {
          chunkBytes: 256,
          onProgress: (p) => {
            if (p.tensor !== name || once) return;
            once = true;
            truncateSync(file, size - 4096);
          },
        }),
      );
      expect(result.status).toBe('rejected');
      expect(String((result as PromiseRejectedResult).reason)).toMatch(
        new RegExp(`${file.replace(/[.]/g, '\\.')}: tensor '${name.replace(/[.]/g, '\\.')}': (changed while being read|truncated)`),
      );
      // embed_tokens, the two layer norms, the packed q|k|v.
      expect(destroyed()).toEqual([1, 1, 1, 1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Overwrites `count` values of a tensor in place with `bits` (a 16-bit pattern: bf16 NaN 0x7fc0, +Inf 0x7f80). */
function poison(checkpoint: Checkpoint, name: string, bits: number[]): void {
  const entry = checkpoint.tensors.get(name)!;
  const fd = openSync(entry.file, 'r+');
  bits.forEach((b, i) => writeSync(fd, Uint8Array.of(b & 0xff, b >> 8), 0, 2, entry.begin + 2 * (3 + 5 * i)));
  closeSync(fd);
}

describe('faults at load', () => {
  async function fresh(name: string): Promise<string> {
    const dir = tempDir(name);
    await writeSyntheticCheckpoint(dir, { config: tinyConfig(), seed: 4 });
    return dir;
  }

  it('warns, one line per tensor, about NaN and ±Inf in the weights (GPU and host loaders)', async () => {
    const dir = await fresh('non-finite');
    poison(await openCheckpoint(dir), 'model.layers.1.self_attn.k_proj.weight', [0x7fc0, 0x7f80, 0xff80]);
    const checkpoint = await openCheckpoint(dir);
    const seen: string[] = [];
    const weights = await loadQwen3Weights(ctx, checkpoint, { onWarning: (l) => seen.push(l) });
    const line = `${join(dir, 'model.safetensors')}: tensor 'model.layers.1.self_attn.k_proj.weight' holds 3 non-finite values (NaN or ±Inf); the model's output will not be finite`;
    expect(seen).toEqual([line]);
    expect(weights.warnings).toEqual([line]);
    weights.destroy();
    const host: string[] = [];
    await readTensorF32(checkpoint, 'model.layers.1.self_attn.k_proj.weight', (l) => host.push(l));
    await readTensorF32(checkpoint, 'model.layers.1.self_attn.q_proj.weight', (l) => host.push(l));
    expect(host).toEqual([line]);
    rmSync(dir, { recursive: true });
  });

  it('a checkpoint file that shrinks while it is being read: an error naming the file, nothing uploaded half', async () => {
    const dir = await fresh('shrinks');
    const checkpoint = await openCheckpoint(dir);
    const file = join(dir, 'model.safetensors');
    const size = statSync(file).size;
    let once = false;
    const load = loadQwen3Weights(ctx, checkpoint, {
      chunkBytes: 256,
      onProgress: () => {
        if (!once) truncateSync(file, size - 4096);
        once = true;
      },
    });
    await expect(load).rejects.toThrow(
      new RegExp(`^${file}: tensor '[^']+': (changed while being read: ${size} bytes when opened, now ${size - 4096}|truncated: .*)$`),
    );
    rmSync(dir, { recursive: true });
  });

  it('a checkpoint file rewritten in place (same size) while it is being read', async () => {
    const dir = await fresh('rewritten');
    const checkpoint = await openCheckpoint(dir);
    const file = join(dir, 'model.safetensors');
    let once = false;
    const load = loadQwen3Weights(ctx, checkpoint, {
      chunkBytes: 256,
      onProgress: () => {
        if (once) return;
        once = true;
        const fd = openSync(file, 'r+');
        writeSync(fd, new Uint8Array(64).fill(7), 0, 64, statSync(file).size - 64);
        closeSync(fd);
        utimesSync(file, new Date(), new Date(Date.now() + 5000));
      },
    });
    await expect(load).rejects.toThrow(new RegExp(`^${file}: tensor '[^']+': changed while being read: modified after it was opened$`));
    // The host loader checks the same.
    await expect(readTensorF32(checkpoint, 'model.norm.weight')).rejects.toThrow(/changed while being read: modified after it was opened$/);
    rmSync(dir, { recursive: true });
  });

  it('a model larger than the adapter allows: the error names the tensor and the limit', async () => {
    const dir = await fresh('too-large');
    const checkpoint = await openCheckpoint(dir);
    // The adapter's own limit, lowered: the embedding (97 × 32 bf16 = 6208 bytes) no longer fits one buffer.
    const limits = new Proxy(ctx.limits, { get: (t, k) => (k === 'maxBufferSize' ? 4096 : (t as unknown as Record<PropertyKey, unknown>)[k]) });
    const small: GpuContext = { ...ctx, limits };
    await expect(loadQwen3Weights(small, checkpoint)).rejects.toThrow(
      new RegExp(
        `^${join(dir, 'model.safetensors')}: tensor 'model\\.embed_tokens\\.weight': needs 6208 bytes in one GPU buffer, over this adapter's maxBufferSize of 4096 bytes$`,
      ),
    );
    rmSync(dir, { recursive: true });
  });

  it('the device running out of memory at load: the error names the tensor', async () => {
    const dir = await fresh('oom');
    const checkpoint = await openCheckpoint(dir);
    // Dawn reports out-of-memory through error scopes only; the scope of the 5th allocation reports one here.
    let scopes = 0;
    const pop = ctx.device.popErrorScope.bind(ctx.device);
    ctx.device.popErrorScope = async () => {
      const real = await pop();
      return ++scopes === 5 ? new GPUOutOfMemoryError('Out of memory allocating the buffer (injected)') : real;
    };
    try {
      await expect(loadQwen3Weights(ctx, checkpoint)).rejects.toThrow(
        /: tensor 'model\.layers\.0\.[a-z_.]+': out of GPU memory allocating its \d+ bytes \(Out of memory allocating the buffer \(injected\)\)$/,
      );
    } finally {
      ctx.device.popErrorScope = pop;
    }
    rmSync(dir, { recursive: true });
  });

  it("the device running out of memory at a layer's packed q|k|v buffer: the error names q_proj and the two with it", async () => {
    const dir = await fresh('oom-packed');
    const checkpoint = await openCheckpoint(dir);
    // Allocations: embed_tokens, input_layernorm, post_attention_layernorm, then layer 0's q|k|v (8192 bytes).
    let scopes = 0;
    const pop = ctx.device.popErrorScope.bind(ctx.device);
    ctx.device.popErrorScope = async () => {
      const real = await pop();
      return ++scopes === 4 ? new GPUOutOfMemoryError('Out of memory (injected)') : real;
    };
    try {
      const layer0 = 'model\\.layers\\.0\\.self_attn';
      await expect(loadQwen3Weights(ctx, checkpoint)).rejects.toThrow(
        new RegExp(
          `: tensor '${layer0}\\.q_proj\\.weight': out of GPU memory allocating 8192 bytes for it and '${layer0}\\.k_proj\\.weight', '${layer0}\\.v_proj\\.weight' \\(one packed buffer\\) \\(Out of memory \\(injected\\)\\)$`,
        ),
      );
    } finally {
      ctx.device.popErrorScope = pop;
    }
    rmSync(dir, { recursive: true });
  });
});
