// Sampling defaults of a checkpoint: generation_config.json's when it samples (HF's GenerationConfig defaults where
// the file is silent: top_k 50, top_p 1, temperature 1), else greedy. The CLI and the web app start from these.
import type { GenerationConfig } from '@qwen3-webgpu/weights';
import type { SamplingOptions } from './sampling.ts';

export function samplingDefaults(g: GenerationConfig | undefined): SamplingOptions {
  if (!g?.doSample) return { temperature: 0 };
  return {
    ...(g.temperature !== undefined ? { temperature: g.temperature } : {}),
    topK: g.topK ?? 50,
    ...(g.topP !== undefined ? { topP: g.topP } : {}),
    ...(g.minP !== undefined ? { minP: g.minP } : {}),
    ...(g.repetitionPenalty !== undefined ? { repetitionPenalty: g.repetitionPenalty } : {}),
  };
}
