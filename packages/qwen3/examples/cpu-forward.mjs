// The float64 CPU model, step by step:  node cpu-forward.mjs ~/models/Qwen3-0.6B
import { openCheckpoint } from '@qwen3-webgpu/weights';
import { CpuQwen3Model, loadCpuWeights } from '@qwen3-webgpu/qwen3';

const model = new CpuQwen3Model(await loadCpuWeights(await openCheckpoint(process.argv[2] ?? '.')), { maxContext: 256 });
const { logits } = model.forward([1, 17, 42]); // [3, vocab]; appends to the KV cache
const next = model.forward([7]).logits; // one decode step at position 3: [1, vocab]
console.log(`vocab ${model.vocabSize}: ${logits.length / model.vocabSize} rows, then ${next.length / model.vocabSize}`);
