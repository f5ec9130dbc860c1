import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../src/index.ts';
import { writeSafetensors, writeSyntheticCheckpoint } from '../src/node/index.ts';
import { tempDir, tinyConfig } from './helpers.ts';

async function synthetic(name: string, options: Partial<Parameters<typeof writeSyntheticCheckpoint>[1]> = {}) {
  const dir = tempDir(name);
  await writeSyntheticCheckpoint(dir, { config: tinyConfig(), seed: 7, ...options });
  return dir;
}

describe('openCheckpoint', () => {
  it('opens a single-file checkpoint and finds every expected tensor', async () => {
    const dir = await synthetic('single');
    const c = await openCheckpoint(dir);
    expect(c.config.numHiddenLayers).toBe(2);
    expect(c.tensors.size).toBe(1 + 2 * 11 + 1);
    expect(c.warnings).toEqual([]);
    expect(c.generation?.eosTokenIds).toEqual([2]);
  });

  it('opens a sharded checkpoint through its index', async () => {
    const dir = await synthetic('sharded', { shards: 3 });
    const c = await openCheckpoint(dir);
    expect(new Set([...c.tensors.values()].map((t) => t.file)).size).toBe(3);
  });

  it('warns about unexpected extra tensors', async () => {
    const dir = await synthetic('extra', { extraTensors: [{ name: 'model.rotary_emb.inv_freq', shape: [8] }] });
    expect((await openCheckpoint(dir)).warnings).toEqual(["model.safetensors: unexpected tensor 'model.rotary_emb.inv_freq' ignored"]);
  });

  it('accepts a tied checkpoint that also stores lm_head.weight', async () => {
    const dir = await synthetic('tied-lm', { lmHeadWhenTied: true });
    expect((await openCheckpoint(dir)).tensors.has('lm_head.weight')).toBe(true);
  });

  it('rejects an index that names a missing shard', async () => {
    const dir = await synthetic('missing-shard', { shards: 2 });
    rmSync(join(dir, 'model-00002-of-00002.safetensors'));
    await expect(openCheckpoint(dir)).rejects.toThrow(/model\.safetensors\.index\.json: names shard 'model-00002-of-00002\.safetensors', which is missing/);
  });

  it('rejects a tensor stored in two shards', async () => {
    const dir = await synthetic('twice', { shards: 2 });
    const indexFile = join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(readFileSync(indexFile, 'utf8')) as { weight_map: Record<string, string> };
    await writeSafetensors(join(dir, 'model-extra.safetensors'), [{ name: 'model.norm.weight', dtype: 'BF16', shape: [32], data: new Uint8Array(64) }]);
    index.weight_map['model.rotary_emb.inv_freq'] = 'model-extra.safetensors';
    writeFileSync(indexFile, JSON.stringify(index));
    await expect(openCheckpoint(dir)).rejects.toThrow(/tensor 'model\.norm\.weight': also stored in model-0000[12]-of-00002\.safetensors/);
  });

  it('rejects a missing required tensor', async () => {
    const dir = await synthetic('missing-tensor');
    writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig({ num_hidden_layers: 3 })));
    await expect(openCheckpoint(dir)).rejects.toThrow(/tensor 'model\.layers\.2\.input_layernorm\.weight': missing required tensor \(config\.json implies shape \[32\]\)/);
  });

  it('rejects an untied checkpoint without lm_head.weight', async () => {
    const dir = await synthetic('untied-missing');
    writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig({ tie_word_embeddings: false })));
    await expect(openCheckpoint(dir)).rejects.toThrow(/tensor 'lm_head\.weight': missing required tensor/);
  });

  it('rejects a tensor whose shape disagrees with config.json', async () => {
    const dir = await synthetic('shape');
    writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig({ intermediate_size: 64 })));
    await expect(openCheckpoint(dir)).rejects.toThrow(/tensor 'model\.layers\.0\.mlp\.gate_proj\.weight': shape \[48, 32\] does not match \[64, 32\] implied by config\.json/);
  });

  it('rejects a config with heads not divisible by kv heads, naming the file', async () => {
    const dir = await synthetic('heads');
    writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig({ num_key_value_heads: 3 })));
    await expect(openCheckpoint(dir)).rejects.toThrow(/config\.json: num_attention_heads 4 is not divisible by num_key_value_heads 3/);
  });

  it('rejects a config of another model type', async () => {
    const dir = await synthetic('type');
    writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig({ model_type: 'qwen2' })));
    await expect(openCheckpoint(dir)).rejects.toThrow(/config\.json: model_type is 'qwen2', this loader reads 'qwen3'/);
  });

  it('rejects a directory without weights or config', async () => {
    const dir = await synthetic('empty');
    rmSync(join(dir, 'model.safetensors'));
    await expect(openCheckpoint(dir)).rejects.toThrow(/no model\.safetensors or model\.safetensors\.index\.json in this directory/);
    await expect(openCheckpoint(tempDir('nothing'))).rejects.toThrow(/not a checkpoint directory: config\.json is missing/);
  });
});

describe('synthetic checkpoints', () => {
  it('are bit-identical for the same seed and differ for another', async () => {
    const [a, b, c] = await Promise.all([synthetic('det-a'), synthetic('det-b'), synthetic('det-c', { seed: 8 })]);
    const bytes = (d: string) => readFileSync(join(d, 'model.safetensors'));
    expect(Buffer.compare(bytes(a), bytes(b))).toBe(0);
    expect(Buffer.compare(bytes(a), bytes(c))).not.toBe(0);
  });
});
