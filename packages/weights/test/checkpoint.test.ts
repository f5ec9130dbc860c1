import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../src/index.ts';
import { writeSyntheticCheckpoint } from '../src/node/index.ts';
import { tempDir, tinyConfig } from './helpers.ts';
import { malformedCheckpoints } from './malformed.ts';

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

  for (const [what, make, message] of malformedCheckpoints(tempDir('malformed'))) {
    it(what, async () => {
      await expect(openCheckpoint(await make())).rejects.toThrow(message);
    });
  }

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
