// Streams a Hugging Face Qwen3 directory to the GPU:  node load.mjs ~/models/Qwen3-0.6B
import { createGpuContext } from '@qwen3-webgpu/tensor';
import { loadQwen3Weights } from '@qwen3-webgpu/weights';

const dir = process.argv[2] ?? '.';
const ctx = await createGpuContext();
const weights = await loadQwen3Weights(ctx, dir, {
  onProgress: ({ bytesDone, bytesTotal }) => process.stderr.write(`\r${((100 * bytesDone) / bytesTotal).toFixed(0)} %`),
});
console.log(`\n${weights.config.numHiddenLayers} layers; the embedding takes ${weights.embedTokens.parts.length} binding part(s) on ${ctx.describe()}`);
weights.destroy();
ctx.destroy();
