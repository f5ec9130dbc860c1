import { LAYER_TENSORS, layerTensorName, readTensorF32, type Checkpoint, type LayerTensor, type Qwen3Config } from '@qwen3-webgpu/weights';

/** Every weight of a checkpoint on the host, widened to f32 (the CPU backend). */
export interface CpuWeights {
  config: Qwen3Config;
  embedTokens: Float32Array; // [vocab, hidden]
  layers: Record<LayerTensor, Float32Array>[];
  norm: Float32Array; // [hidden]
  lmHead: Float32Array; // [vocab, hidden]: lm_head.weight, or the embedding when tied
}

/** onWarning: one line per tensor holding NaN or ±Inf. */
export async function loadCpuWeights(checkpoint: Checkpoint, onWarning?: (line: string) => void): Promise<CpuWeights> {
  const { config } = checkpoint;
  const read = (name: string) => readTensorF32(checkpoint, name, onWarning);
  const embedTokens = await read('model.embed_tokens.weight');
  const layers: Record<LayerTensor, Float32Array>[] = [];
  for (let l = 0; l < config.numHiddenLayers; l++) {
    const layer = {} as Record<LayerTensor, Float32Array>;
    for (const t of LAYER_TENSORS) layer[t] = await read(layerTensorName(l, t));
    layers.push(layer);
  }
  const norm = await read('model.norm.weight');
  // HF ties lm_head to the embedding when the config says so, even if the file also stores lm_head.
  const lmHead = config.tieWordEmbeddings || !checkpoint.tensors.has('lm_head.weight') ? embedTokens : await read('lm_head.weight');
  return { config, embedTokens, layers, norm, lmHead };
}
