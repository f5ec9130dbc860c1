// The KV-cache size both backends (and the CLI's checks) take when the caller names none.
import type { Qwen3Config } from '@qwen3-webgpu/weights';

/** The model's max_position_embeddings, at most 4096. */
export function defaultMaxContext(config: Pick<Qwen3Config, 'maxPositionEmbeddings'>): number {
  return Math.min(4096, config.maxPositionEmbeddings);
}
