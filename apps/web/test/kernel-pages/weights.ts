// @qwen3-webgpu/weights in a browser page, from its packed tarball: the demonstration model (served beside the page)
// streamed from its URL into GPU buffers must hold exactly the file's bytes; a directory path must be refused in one
// line (the package's '#directory' import resolved to its browser variant); a folder without config.json must fail
// with the loader's own message.
import { createGpuContext, readBytes } from '@qwen3-webgpu/tensor';
import { loadQwen3Weights, openCheckpoint, WeightsError } from '@qwen3-webgpu/weights';
import { check, report, type Check } from './report.ts';

/** An exact check (bound 0) that a promise rejects with a WeightsError whose message is `expected`. */
async function rejection(name: string, promise: Promise<unknown>, expected: string): Promise<Check> {
  const message = await promise.then(
    () => 'resolved',
    (e: unknown) => (e instanceof WeightsError ? e.message : `not a WeightsError: ${String(e)}`),
  );
  const c = check(`${name}: ${JSON.stringify(message)}`, [message === expected ? 1 : 0], [1], 0);
  return c;
}

report('weights', 0, async () => {
  const ctx = await createGpuContext();
  const checks: Check[] = [];
  const base = new URL('./model/', location.href);
  const file = new Uint8Array(await (await fetch(new URL('model.safetensors', base))).arrayBuffer());
  const weights = await loadQwen3Weights(ctx, base, { chunkBytes: 1 << 20 });
  const tensors = [
    ['model.embed_tokens.weight', weights.embedTokens],
    ['model.layers.0.self_attn.k_norm.weight', weights.layers[0]!['self_attn.k_norm']],
    ['model.layers.5.mlp.down_proj.weight', weights.layers.at(-1)!['mlp.down_proj']],
    ['model.norm.weight', weights.norm],
  ] as const;
  for (const [name, w] of tensors) {
    const entry = weights.checkpoint.tensors.get(name)!;
    const gpu = (await readBytes(w.tensor)).subarray(0, entry.end - entry.begin);
    checks.push(check(`${name} on the GPU = bytes [${entry.begin}, ${entry.end}) of the file (exact)`, gpu, file.subarray(entry.begin, entry.end), 0));
  }
  weights.destroy();
  checks.push(
    await rejection(
      'a directory path',
      openCheckpoint('/models/Qwen3-0.6B'),
      '/models/Qwen3-0.6B: a directory path can only be read in Node; in a browser pass a URL, picked Files or ArrayBuffers',
    ),
  );
  const empty = new URL('./no-model/', location.href).href;
  checks.push(await rejection('a folder without config.json', openCheckpoint(empty), `${empty}: not a checkpoint directory: config.json is missing`));
  const adapter = ctx.describe();
  ctx.destroy();
  return { adapter, checks };
});
