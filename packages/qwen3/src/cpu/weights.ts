import { LAYER_TENSORS, layerTensorName, readTensorF32, type Checkpoint, type LayerTensor, type Qwen3Config } from '@qwen3-webgpu/weights';

/** Every weight of a checkpoint on the host, widened to f32 (the CPU backend). */
export interface CpuWeights {
  config: Qwen3Config;
  embedTokens: Float32Array; // [vocab, hidden]
  layers: Record<LayerTensor, Float32Array>[];
  norm: Float32Array; // [hidden]
  lmHead: Float32Array; // [vocab, hidden]: lm_head.weight, or the embedding when tied
}

export async function loadCpuWeights(checkpoint: Checkpoint): Promise<CpuWeights> {
  const { config } = checkpoint;
  const embedTokens = await readTensorF32(checkpoint, 'model.embed_tokens.weight');
  const layers: Record<LayerTensor, Float32Array>[] = [];
  for (let l = 0; l < config.numHiddenLayers; l++) {
    const layer = {} as Record<LayerTensor, Float32Array>;
    for (const t of LAYER_TENSORS) layer[t] = await readTensorF32(checkpoint, layerTensorName(l, t));
    layers.push(layer);
  }
  const norm = await readTensorF32(checkpoint, 'model.norm.weight');
  // HF ties lm_head to the embedding when the config says so, even if the file also stores lm_head.
  const lmHead = config.tieWordEmbeddings || !checkpoint.tensors.has('lm_head.weight') ? embedTokens : await readTensorF32(checkpoint, 'lm_head.weight');
  return { config, embedTokens, layers, norm, lmHead };
}
