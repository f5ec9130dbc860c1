// Writes the synthetic checkpoints behind packages/qwen3/test/goldens/*.json (seed, dtype, stress and config in
// each spec) into OUT/<name>/, for tools/reference/hf_logits.py to run HF on.
//   node tools/bundle.mjs tools/make-golden-checkpoints.ts tools/dist && node tools/dist/make-golden-checkpoints.mjs OUT
// (from the repository root).
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeSyntheticCheckpoint } from '@qwen3-webgpu/weights/node';

const out = process.argv[2];
if (!out) {
  console.error('usage: make-golden-checkpoints OUT');
  process.exit(2);
}
const dir = 'packages/qwen3/test/goldens';
for (const file of readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.golden.json'))) {
  const spec = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const target = join(out, basename(file, '.json'));
  await writeSyntheticCheckpoint(target, { config: spec.config, seed: spec.seed, dtype: spec.dtype, ...(spec.stress ? { stress: spec.stress } : {}) });
  console.log(`${target} ids=${spec.prompt_ids.join(',')}`);
}
