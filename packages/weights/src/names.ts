import type { Qwen3Config } from './config.ts';

/** The HF tensor names of a Qwen3 checkpoint and the shapes the config implies. */
export interface ExpectedTensor {
  name: string;
  shape: number[];
  /** lm_head.weight of a tied checkpoint: may be present, not required. */
  optional: boolean;
}

export const LAYER_TENSORS = [
  'input_layernorm',
  'post_attention_layernorm',
  'self_attn.q_proj',
  'self_attn.k_proj',
  'self_attn.v_proj',
  'self_attn.o_proj',
  'self_attn.q_norm',
  'self_attn.k_norm',
  'mlp.gate_proj',
  'mlp.up_proj',
  'mlp.down_proj',
] as const;
export type LayerTensor = (typeof LAYER_TENSORS)[number];

export const layerTensorName = (layer: number, t: LayerTensor) => `model.layers.${layer}.${t}.weight`;

export function layerTensorShape(c: Qwen3Config, t: LayerTensor): number[] {
  const q = c.numAttentionHeads * c.headDim;
  const kv = c.numKeyValueHeads * c.headDim;
  switch (t) {
    case 'input_layernorm':
    case 'post_attention_layernorm':
      return [c.hiddenSize];
    case 'self_attn.q_proj':
      return [q, c.hiddenSize];
    case 'self_attn.k_proj':
    case 'self_attn.v_proj':
      return [kv, c.hiddenSize];
    case 'self_attn.o_proj':
      return [c.hiddenSize, q];
    case 'self_attn.q_norm':
    case 'self_attn.k_norm':
      return [c.headDim];
    case 'mlp.gate_proj':
    case 'mlp.up_proj':
      return [c.intermediateSize, c.hiddenSize];
    case 'mlp.down_proj':
      return [c.hiddenSize, c.intermediateSize];
  }
}

export function expectedTensors(c: Qwen3Config): ExpectedTensor[] {
  const out: ExpectedTensor[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocabSize, c.hiddenSize], optional: false }];
  for (let layer = 0; layer < c.numHiddenLayers; layer++) {
    for (const t of LAYER_TENSORS) out.push({ name: layerTensorName(layer, t), shape: layerTensorShape(c, t), optional: false });
  }
  out.push({ name: 'model.norm.weight', shape: [c.hiddenSize], optional: false });
  out.push({ name: 'lm_head.weight', shape: [c.vocabSize, c.hiddenSize], optional: c.tieWordEmbeddings });
  return out;
}
