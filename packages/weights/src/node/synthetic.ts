// Synthetic Qwen3 checkpoints: any config, deterministic from a seed (bit-identical across runs and machines),
// written in HF layout. The project's stand-in for real weights, which cannot be downloaded here.
import { mkdir, writeFile } from 'node:fs/promises';
import { f32BitsToBf16, f32BitsToF16 } from '@qwen3-webgpu/tensor';
import { join } from 'node:path';
import { parseQwen3Config } from '../config.ts';
import { expectedTensors } from '../names.ts';
import { QWEN3_0_6B_CONFIG } from '../qwen3-0.6b.ts';
import { dtypeBytesOf, type SafetensorsDtype } from '../safetensors.ts';
import { writeSafetensors, type TensorToWrite } from './safetensors-writer.ts';

export interface SyntheticOptions {
  /** HF config.json content (v4 or v5 shape). Default: Qwen3-0.6B's. */
  config?: Record<string, unknown>;
  seed: number;
  dtype?: SafetensorsDtype;
  /** Dtypes of single tensors by name, over `dtype` (checkpoints that mix dtypes). */
  dtypes?: Record<string, SafetensorsDtype>;
  /** Number of shards (≥ 2 writes model-0000i-of-0000n.safetensors + index). Default 1. */
  shards?: number;
  /** Also store lm_head.weight when the config ties embeddings (HF sometimes does). */
  lmHeadWhenTied?: boolean;
  /** Stress weights: every kNormEvery-th k_norm channel × kNormScale; embedding row embedRow × embedScale. */
  stress?: { kNormEvery?: number; kNormScale?: number; embedRow?: number; embedScale?: number };
  /** Extra tensors to store (to test the "unexpected tensor" warning). */
  extraTensors?: { name: string; shape: number[] }[];
  generationConfig?: Record<string, unknown>;
}

/** 32-bit FNV-1a: a stable per-tensor seed from its name. */
function hashName(name: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0 || 1;
}

const CHUNK_ELEMENTS = 1 << 20;

/**
 * Values of one tensor, chunk by chunk, in the requested dtype: uniform in [center − half, center + half] from a
 * xorshift32 stream seeded by (seed, name), with stress scaling applied. One chunk buffer is reused (the writer
 * consumes each chunk before asking for the next).
 */
function* tensorChunks(
  name: string,
  count: number,
  dtype: SafetensorsDtype,
  seed: number,
  center: number,
  half: number,
  scale: (i: number) => number,
): Generator<Uint8Array> {
  let s = hashName(name, seed);
  const f32 = new Float32Array(Math.min(count, CHUNK_ELEMENTS));
  const bits = new Uint32Array(f32.buffer);
  const out16 = new Uint16Array(f32.length);
  for (let start = 0; start < count; start += f32.length) {
    const n = Math.min(f32.length, count - start);
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      f32[i] = (center + ((s >>> 8) * 2 ** -23 - 1) * half) * scale(start + i);
    }
    if (dtype === 'F32') {
      yield new Uint8Array(f32.buffer, 0, n * 4);
      continue;
    }
    for (let i = 0; i < n; i++) {
      out16[i] = dtype === 'BF16' ? f32BitsToBf16(bits[i]!) : f32BitsToF16(bits[i]!);
    }
    yield new Uint8Array(out16.buffer, 0, n * 2);
  }
}

/** Writes config.json, generation_config.json and the weights into `dir`. Returns the files and tensor bytes. */
export async function writeSyntheticCheckpoint(dir: string, options: SyntheticOptions): Promise<{ files: string[]; bytes: number }> {
  const configJson = options.config ?? QWEN3_0_6B_CONFIG;
  const config = parseQwen3Config(configJson, 'synthetic config');
  const dtype = options.dtype ?? 'BF16';
  const stress = options.stress ?? {};
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify(configJson, null, 2) + '\n');
  await writeFile(
    join(dir, 'generation_config.json'),
    JSON.stringify(options.generationConfig ?? { bos_token_id: config.bosTokenId ?? 0, eos_token_id: config.eosTokenIds, do_sample: false }, null, 2) + '\n',
  );

  const specs = expectedTensors(config).filter((e) => !e.optional || options.lmHeadWhenTied);
  for (const extra of options.extraTensors ?? []) specs.push({ name: extra.name, shape: extra.shape, optional: true });
  const h = config.hiddenSize;
  const tensors: TensorToWrite[] = specs.map(({ name, shape }) => {
    const count = shape.reduce((a, b) => a * b, 1);
    // A tied checkpoint that also stores lm_head stores the embedding's values (as HF does).
    const source = name === 'lm_head.weight' && config.tieWordEmbeddings ? 'model.embed_tokens.weight' : name;
    const isNorm = name.endsWith('norm.weight');
    // Norm weights near 1; matrices uniform with std ≈ 1/√fan_in (keeps activations O(1) through the layers).
    const fanIn = shape[1] ?? h;
    const [center, half] = isNorm ? [1, 0.2] : [0, Math.sqrt(3 / fanIn)];
    let scale = (_: number) => 1;
    if (name.endsWith('k_norm.weight') && stress.kNormEvery) {
      const every = stress.kNormEvery;
      const k = stress.kNormScale ?? 40;
      scale = (i) => (i % every === 0 ? k : 1);
    } else if (source === 'model.embed_tokens.weight' && stress.embedRow !== undefined) {
      const row = stress.embedRow;
      const k = stress.embedScale ?? 300;
      scale = (i) => (Math.floor(i / h) === row ? k : 1);
    }
    const own = options.dtypes?.[name] ?? dtype;
    return { name, dtype: own, shape, data: tensorChunks(source, count, own, options.seed, center, half, scale) };
  });

  const shards = Math.max(1, options.shards ?? 1);
  const bytes = tensors.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1) * dtypeBytesOf(t.dtype), 0);
  if (shards === 1) {
    const file = join(dir, 'model.safetensors');
    await writeSafetensors(file, tensors, { format: 'pt' });
    return { files: [file], bytes };
  }
  // Greedy split by bytes, in order, as HF's save_pretrained does.
  const target = bytes / shards;
  const groups: TensorToWrite[][] = [[]];
  let acc = 0;
  for (const t of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1) * dtypeBytesOf(t.dtype);
    if (acc >= target * groups.length && groups.length < shards) groups.push([]);
    groups.at(-1)!.push(t);
    acc += size;
  }
  const files: string[] = [];
  const weightMap: Record<string, string> = {};
  const pad = (n: number) => String(n).padStart(5, '0');
  for (let i = 0; i < groups.length; i++) {
    const name = `model-${pad(i + 1)}-of-${pad(groups.length)}.safetensors`;
    await writeSafetensors(join(dir, name), groups[i]!, { format: 'pt' });
    for (const t of groups[i]!) weightMap[t.name] = name;
    files.push(join(dir, name));
  }
  await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: bytes }, weight_map: weightMap }, null, 2) + '\n');
  return { files, bytes };
}
