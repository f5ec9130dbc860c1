// A Hugging Face Qwen3 checkpoint folder: config.json, optional generation_config.json, and model.safetensors or
// model-0000i-of-0000n.safetensors with model.safetensors.index.json. Opening reads headers only. The folder can be
// anything CheckpointFiles reads (a directory, a URL, picked Files, ArrayBuffers): the checks and messages are the
// same for all.
import { parseGenerationConfig, parseQwen3Config, type GenerationConfig, type Qwen3Config } from './config.ts';
import { WeightsError } from './errors.ts';
import { expectedTensors } from './names.ts';
import { readSafetensorsHeader, type SafetensorsEntry } from './safetensors.ts';
import { readJsonFile, type ByteSource, type CheckpointFiles } from './sources/files.ts';
import { modelFiles, type ModelSource } from './sources/resolve.ts';

export interface CheckpointTensor extends SafetensorsEntry {
  /** The .safetensors file holding it, as errors name it (path or URL). */
  file: string;
  /** Where its bytes are read from. */
  source: ByteSource;
}

export interface Checkpoint {
  /** The folder, as errors name it: a directory path, a base URL, a picked folder's name. */
  dir: string;
  /** The folder's files (tokenizer, chat template and the like are read from here too). */
  files: CheckpointFiles;
  config: Qwen3Config;
  generation: GenerationConfig | undefined;
  tensors: Map<string, CheckpointTensor>;
  /** Tensor bytes over all expected tensors (what an upload moves). */
  totalBytes: number;
  /** Non-fatal findings: unexpected extra tensors. */
  warnings: string[];
}

const INDEX = 'model.safetensors.index.json';

/** The weight files (opened) and, for a sharded checkpoint, the index's tensor → shard map. */
async function weightFiles(files: CheckpointFiles): Promise<{ shards: [string, ByteSource][]; weightMap?: Record<string, string> }> {
  const index = await readJsonFile(files, INDEX);
  if (index !== undefined) {
    const map = (index as { weight_map?: unknown })?.weight_map;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new WeightsError(files.path(INDEX), "missing object field 'weight_map'");
    const names = new Set<string>();
    for (const [name, shard] of Object.entries(map)) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\'))
        throw new WeightsError(files.path(INDEX), `weight_map entry must name a shard file in the directory, got ${JSON.stringify(shard)}`, name);
      names.add(shard);
    }
    const shards: [string, ByteSource][] = [];
    for (const shard of names) {
      const source = await files.open(shard);
      if (!source) throw new WeightsError(files.path(INDEX), `names shard '${shard}', which is missing from ${files.location}`);
      shards.push([shard, source]);
    }
    return { shards, weightMap: map as Record<string, string> };
  }
  const single = await files.open('model.safetensors');
  if (single) return { shards: [['model.safetensors', single]] };
  throw new WeightsError(files.location, 'no model.safetensors or model.safetensors.index.json in this directory');
}

/**
 * Reads config, generation config and every shard header; checks every tensor the config implies is present.
 * `source`: a directory path (Node), a URL, picked Files, a name → Blob/ArrayBuffer map, or CheckpointFiles.
 */
export async function openCheckpoint(source: ModelSource): Promise<Checkpoint> {
  const files = modelFiles(source);
  const dir = files.location;
  const configJson = await readJsonFile(files, 'config.json');
  if (configJson === undefined) throw new WeightsError(dir, 'not a checkpoint directory: config.json is missing');
  const config = parseQwen3Config(configJson, files.path('config.json'));
  const generationJson = await readJsonFile(files, 'generation_config.json');
  const generation = generationJson !== undefined ? parseGenerationConfig(generationJson, files.path('generation_config.json')) : undefined;

  const { shards, weightMap } = await weightFiles(files);
  const tensors = new Map<string, CheckpointTensor & { shard: string }>();
  for (const [shard, source] of shards) {
    const header = await readSafetensorsHeader(source);
    for (const t of header.tensors) {
      const seen = tensors.get(t.name);
      if (seen) throw new WeightsError(source.name, `also stored in ${seen.shard}: a tensor may live in one shard only`, t.name);
      if (weightMap && weightMap[t.name] !== undefined && weightMap[t.name] !== shard) {
        throw new WeightsError(source.name, `the index places it in ${weightMap[t.name]}`, t.name);
      }
      tensors.set(t.name, { ...t, file: source.name, source, shard });
    }
  }
  if (weightMap) {
    for (const [name, shard] of Object.entries(weightMap)) {
      if (!tensors.has(name)) throw new WeightsError(files.path(shard), 'named by the index but not in this shard', name);
    }
  }

  // A config with fewer layers than the file would run a truncated model and print fluent garbage.
  let fileLayers = 0;
  let layerFile = dir;
  for (const [name, t] of tensors) {
    const m = /^model\.layers\.(\d+)\./.exec(name);
    if (m && Number(m[1]) + 1 > fileLayers) [fileLayers, layerFile] = [Number(m[1]) + 1, t.file];
  }
  if (fileLayers > config.numHiddenLayers) {
    throw new WeightsError(
      layerFile,
      `holds ${fileLayers} decoder layers (model.layers.0 … ${fileLayers - 1}), but config.json says num_hidden_layers ${config.numHiddenLayers}`,
    );
  }

  const warnings: string[] = [];
  let totalBytes = 0;
  const expected = expectedTensors(config);
  for (const e of expected) {
    const t = tensors.get(e.name);
    if (!t) {
      if (e.optional) continue;
      throw new WeightsError(dir, `missing required tensor (config.json implies shape [${e.shape.join(', ')}])`, e.name);
    }
    if (t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
      throw new WeightsError(t.file, `shape [${t.shape.join(', ')}] does not match [${e.shape.join(', ')}] implied by config.json`, e.name);
    }
    totalBytes += t.end - t.begin;
  }
  const known = new Set(expected.map((e) => e.name));
  for (const [name, t] of tensors) {
    if (!known.has(name)) warnings.push(`${t.shard}: unexpected tensor '${name}' ignored`);
  }
  return { dir, files, config, generation, tensors, totalBytes, warnings };
}

/** An opened Checkpoint, as opposed to a source to open (functions that take either tell them apart with this). */
export const isCheckpoint = (s: ModelSource | Checkpoint): s is Checkpoint =>
  typeof s === 'object' && s !== null && 'tensors' in s && (s as Checkpoint).tensors instanceof Map;
