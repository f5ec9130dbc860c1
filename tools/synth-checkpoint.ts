// Writes a synthetic Qwen3 checkpoint (HF layout, deterministic from a seed).
//   pnpm synth --out DIR [--seed 0] [--config 0.6b|FILE.json] [--dtype BF16|F16|F32] [--shards N] [--stress]
//              [--lm-head-when-tied]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { QWEN3_0_6B_CONFIG } from '@qwen3-webgpu/weights';
import { writeSyntheticCheckpoint } from '@qwen3-webgpu/weights/node';

const usage = 'usage: pnpm synth --out DIR [--seed N] [--config 0.6b|FILE.json] [--dtype BF16|F16|F32] [--shards N] [--stress] [--lm-head-when-tied]';
let values;
try {
  ({ values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      out: { type: 'string' },
      seed: { type: 'string', default: '0' },
      config: { type: 'string', default: '0.6b' },
      dtype: { type: 'string', default: 'BF16' },
      shards: { type: 'string', default: '1' },
      stress: { type: 'boolean', default: false },
      'lm-head-when-tied': { type: 'boolean', default: false },
    },
  }));
} catch (err) {
  console.error(`synth-checkpoint: ${(err as Error).message}\n${usage}`);
  process.exit(2);
}
const fail = (msg: string): never => {
  console.error(`synth-checkpoint: ${msg}\n${usage}`);
  process.exit(2);
};
if (!values.out) fail('--out DIR is required');
const seed = Number(values.seed);
if (!Number.isSafeInteger(seed) || seed < 0) fail(`--seed must be a non-negative integer, got ${values.seed}`);
if (!['BF16', 'F16', 'F32'].includes(values.dtype)) fail(`--dtype must be BF16, F16 or F32, got ${values.dtype}`);
const shards = Number(values.shards);
if (!Number.isSafeInteger(shards) || shards < 1) fail(`--shards must be a positive integer, got ${values.shards}`);
let config: Record<string, unknown> = { ...QWEN3_0_6B_CONFIG };
if (values.config !== '0.6b') {
  try {
    config = JSON.parse(readFileSync(values.config, 'utf8'));
  } catch (err) {
    fail(`--config ${values.config}: ${(err as Error).message}`);
  }
}
const start = performance.now();
try {
  const { files, bytes } = await writeSyntheticCheckpoint(values.out!, {
    config,
    seed,
    dtype: values.dtype as 'BF16' | 'F16' | 'F32',
    shards,
    lmHeadWhenTied: values['lm-head-when-tied'],
    ...(values.stress ? { stress: { kNormEvery: 7, kNormScale: 40, embedRow: 0, embedScale: 300 } } : {}),
  });
  const s = (performance.now() - start) / 1000;
  console.log(
    `wrote ${files.length} file(s), ${(bytes / 1e6).toFixed(1)} MB of tensors to ${values.out} in ${s.toFixed(1)} s (${(bytes / 1e6 / s).toFixed(0)} MB/s)`,
  );
} catch (err) {
  fail((err as Error).message);
}
