// Faults through the library's one entry point (loadCausalLM): NaN weights on both backends, and a WebGPU device
// lost in the middle of a generation.
import { closeSync, cpSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createGpuContext } from '@qwen3-webgpu/tensor';
import { DeviceLostError, generate, loadCausalLM, NonFiniteLogitsError } from '../src/index.ts';
import { readSafetensorsHeader } from '@qwen3-webgpu/weights';

const TINY_RANDOM = fileURLToPath(new URL('../../../apps/parity/fixtures/tiny-random', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'qwen3-faults-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * A copy of the BF16 checkpoint `src` whose tensor `name` starts with NaN, +Inf. (The CLIs' tests use the same
 * fixture from @qwen3-webgpu/cli-kit's testing module; importing that here would make this package's declaration build emit files
 * into tools/.)
 */
async function copyWithNonFinite(src: string, dest: string, name: string): Promise<string> {
  cpSync(src, dest, { recursive: true });
  const file = join(dest, 'model.safetensors');
  const t = (await readSafetensorsHeader(file)).tensors.find((x) => x.name === name)!;
  const fd = openSync(file, 'r+');
  writeSync(fd, new Uint8Array(Uint16Array.of(0x7fc0, 0x7f80).buffer), 0, 4, t.begin);
  closeSync(fd);
  return dest;
}

describe('NaN/Inf in the weights', () => {
  for (const backend of ['webgpu', 'cpu'] as const) {
    it(`${backend}: the loader warns once, generation rejects with NonFiniteLogitsError at the first step`, async () => {
      const dir = await copyWithNonFinite(TINY_RANDOM, join(work, `nan-${backend}`), 'model.layers.2.mlp.down_proj.weight');
      const warnings: string[] = [];
      const lm = await loadCausalLM(dir, { backend, onWarning: (l) => warnings.push(l) });
      try {
        expect(warnings).toEqual([
          `${join(dir, 'model.safetensors')}: tensor 'model.layers.2.mlp.down_proj.weight' holds 2 non-finite values (NaN or ±Inf); the model's output will not be finite`,
        ]);
        for (const options of [{ temperature: 0 }, { temperature: 0.8, topK: 20, seed: 1 }]) {
          const ids: number[] = [];
          const run = async () => {
            for await (const id of generate(lm, [5, 6, 7, 8], { ...options, maxTokens: 4 })) ids.push(id);
          };
          await expect(run()).rejects.toThrow(NonFiniteLogitsError);
          await expect(run()).rejects.toThrow(/^the model produced non-finite logits \(NaN or ±Inf\) at position 3: its weights or activations overflow$/);
          expect(ids).toEqual([]);
        }
      } finally {
        lm.destroy();
      }
    });
  }
});

describe('the WebGPU device lost during generation', () => {
  it('rejects with DeviceLostError (no hang, no empty message); the model is still destroyable; later calls reject too', async () => {
    const ctx = await createGpuContext();
    const lm = await loadCausalLM(TINY_RANDOM, { ctx });
    const ids: number[] = [];
    const start = performance.now();
    const run = async () => {
      for await (const id of generate(lm, [5, 6, 7, 8], { temperature: 0, maxTokens: 40 })) {
        ids.push(id);
        if (ids.length === 3) ctx.device.destroy();
      }
    };
    await expect(run()).rejects.toThrow(DeviceLostError);
    // Run-ahead: ids of steps that finished before the loss may still arrive.
    expect(ids.length).toBeGreaterThanOrEqual(3);
    expect(ids.length).toBeLessThan(40);
    expect(performance.now() - start).toBeLessThan(30_000);
    await expect(lm.next([1], { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0 }, 0)).rejects.toThrow(
      /^the WebGPU device was lost \(destroyed[^)]*\); the model cannot run further$/,
    );
    await expect(lm.forward([1])).rejects.toThrow(DeviceLostError);
    expect(() => lm.destroy()).not.toThrow();
    expect(() => ctx.destroy()).not.toThrow();
  });
});
