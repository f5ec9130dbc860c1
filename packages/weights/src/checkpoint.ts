// A Hugging Face Qwen3 checkpoint directory: config.json, optional generation_config.json, and model.safetensors or
// model-0000i-of-0000n.safetensors with model.safetensors.index.json. Opening reads headers only.
import { basename, join } from 'node:path';
import { parseGenerationConfig, parseQwen3Config, readJson, type GenerationConfig, type Qwen3Config } from './config.ts';
import { WeightsError } from './errors.ts';
import { exists, type FileStamp } from './files.ts';
import { expectedTensors } from './names.ts';
import { readSafetensorsHeader, type SafetensorsEntry } from './safetensors.ts';

export interface CheckpointTensor extends SafetensorsEntry {
  /** The .safetensors file holding it. */
  file: string;
  /** That file's size and modification time when its header was read (a loader refuses a file that changed). */
  stamp: FileStamp;
}

export interface Checkpoint {
  dir: string;
  config: Qwen3Config;
  generation: GenerationConfig | undefined;
  tensors: Map<string, CheckpointTensor>;
  /** Tensor bytes over all expected tensors (what an upload moves). */
  totalBytes: number;
  /** Non-fatal findings: unexpected extra tensors. */
  warnings: string[];
}

async function shardFiles(dir: string): Promise<string[]> {
  const indexFile = join(dir, 'model.safetensors.index.json');
  if (await exists(indexFile)) {
    const index = await readJson(indexFile);
    const map = (index as { weight_map?: unknown })?.weight_map;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new WeightsError(indexFile, "missing object field 'weight_map'");
    const shards = new Set<string>();
    for (const [name, shard] of Object.entries(map)) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\')) throw new WeightsError(indexFile, `weight_map entry must name a shard file in the directory, got ${JSON.stringify(shard)}`, name);
      shards.add(shard);
    }
    for (const shard of shards) {
      if (!(await exists(join(dir, shard)))) throw new WeightsError(indexFile, `names shard '${shard}', which is missing from ${dir}`);
    }
    return [...shards].map((s) => join(dir, s)).concat(indexFile);
  }
  const single = join(dir, 'model.safetensors');
  if (await exists(single)) return [single];
  throw new WeightsError(dir, 'no model.safetensors or model.safetensors.index.json in this directory');
}

/** Reads config, generation config and every shard header; checks every tensor the config implies is present. */
export async function openCheckpoint(dir: string): Promise<Checkpoint> {
  if (!(await exists(join(dir, 'config.json')))) throw new WeightsError(dir, 'not a checkpoint directory: config.json is missing');
  const config = parseQwen3Config(await readJson(join(dir, 'config.json')), join(dir, 'config.json'));
  const generationFile = join(dir, 'generation_config.json');
  const generation = (await exists(generationFile)) ? parseGenerationConfig(await readJson(generationFile), generationFile) : undefined;

  const files = await shardFiles(dir);
  const indexFile = files.at(-1)!.endsWith('.index.json') ? files.pop() : undefined;
  const weightMap = indexFile ? ((await readJson(indexFile)) as { weight_map: Record<string, string> }).weight_map : undefined;
  const tensors = new Map<string, CheckpointTensor>();
  for (const file of files) {
    const header = await readSafetensorsHeader(file);
    for (const t of header.tensors) {
      const seen = tensors.get(t.name);
      if (seen) throw new WeightsError(file, `also stored in ${basename(seen.file)}: a tensor may live in one shard only`, t.name);
      if (weightMap && weightMap[t.name] !== undefined && weightMap[t.name] !== basename(file)) {
        throw new WeightsError(file, `the index places it in ${weightMap[t.name]}`, t.name);
      }
      tensors.set(t.name, { ...t, file, stamp: header.stamp! });
    }
  }
  if (weightMap) {
    for (const [name, shard] of Object.entries(weightMap)) {
      if (!tensors.has(name)) throw new WeightsError(join(dir, shard), 'named by the index but not in this shard', name);
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
    throw new WeightsError(layerFile, `holds ${fileLayers} decoder layers (model.layers.0 … ${fileLayers - 1}), but config.json says num_hidden_layers ${config.numHiddenLayers}`);
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
  for (const name of tensors.keys()) {
    if (!known.has(name)) warnings.push(`${basename(tensors.get(name)!.file)}: unexpected tensor '${name}' ignored`);
  }
  return { dir, config, generation, tensors, totalBytes, warnings };
}
