// The golden schema written by tools/reference/hf_golden.py (HF transformers' float32 forward), read and checked.
import { readFileSync } from 'node:fs';
import type { Qwen3Config } from '@qwen3-webgpu/weights';
import { UsageError } from '@qwen3-webgpu/cli-kit/errors';

export interface LayerSummary {
  rms: number;
  first8: number[];
  sum: number;
}

export interface Golden {
  model: string;
  prompt_ids: number[];
  greedy_ids: number[];
  greedy_margins: number[];
  last_logits_top: [number, number][];
  layers: LayerSummary[];
  native_dtype_greedy_ids: number[];
  native_dtype?: string;
  transformers?: string;
}

const isNums = (v: unknown, integer = false): v is number[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!integer || Number.isInteger(x)));
const isIds = (v: unknown): v is number[] => isNums(v, true) && v.every((x) => x >= 0);

export function readGolden(file: string): Golden {
  let g: Record<string, unknown>;
  try {
    g = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(`--golden ${file}: ${e.code ? `cannot read (${e.code})` : `not valid JSON (${e.message})`}`);
  }
  const bad = (what: string) => new UsageError(`--golden ${file}: ${what} (the schema of tools/reference/hf_golden.py)`);
  if (!g || typeof g !== 'object') throw bad('not a JSON object');
  if (!isIds(g.prompt_ids) || g.prompt_ids.length === 0) throw bad('prompt_ids must be a non-empty list of token ids (integers ≥ 0)');
  if (!isIds(g.greedy_ids)) throw bad('greedy_ids must be a list of token ids (integers ≥ 0)');
  if (!isIds(g.native_dtype_greedy_ids)) throw bad('native_dtype_greedy_ids must be a list of token ids (integers ≥ 0)');
  if (!isNums(g.greedy_margins) || g.greedy_margins.length !== g.greedy_ids.length) throw bad('greedy_margins must hold one number per greedy id');
  if (
    !Array.isArray(g.last_logits_top) ||
    g.last_logits_top.length === 0 ||
    !g.last_logits_top.every((p) => isNums(p) && p.length === 2 && Number.isInteger(p[0]) && p[0]! >= 0)
  ) {
    throw bad('last_logits_top must be a list of [id, logit] pairs');
  }
  if (
    !Array.isArray(g.layers) ||
    g.layers.length === 0 ||
    !g.layers.every((l) => l && typeof l.rms === 'number' && isNums(l.first8) && typeof l.sum === 'number')
  ) {
    throw bad('layers must be a list of {rms, first8, sum}');
  }
  return { ...(g as unknown as Golden), model: typeof g.model === 'string' ? g.model : file };
}

/**
 * Checks a golden against the model's config before any weight is loaded (a golden of another model, or a broken
 * one, is a usage error: exit 2 at once, not a FAIL with NaN errors after the whole run).
 */
export function checkGoldenFits(g: Golden, file: string, c: Qwen3Config, steps: number): void {
  const bad = (what: string) => new UsageError(`--golden ${file}: ${what}`);
  if (g.layers.length !== c.numHiddenLayers)
    throw new UsageError(`--golden has ${g.layers.length} layers, the model ${c.numHiddenLayers}: not this model's golden`);
  const first8 = Math.min(8, c.hiddenSize);
  const layer = g.layers.findIndex((l) => l.first8.length !== first8);
  if (layer >= 0)
    throw bad(`layers[${layer}].first8 has ${g.layers[layer]!.first8.length} values, expected ${first8} (the first min(8, hidden_size) of the layer's output)`);
  const outside = (ids: number[]) => ids.find((id) => id >= c.vocabSize);
  for (const [key, ids] of [
    ['prompt_ids', g.prompt_ids],
    ['greedy_ids', g.greedy_ids],
    ['last_logits_top', g.last_logits_top.map((p) => p[0])],
  ] as const) {
    const id = outside(ids);
    if (id !== undefined) throw bad(`${key} holds id ${id}, outside the model's vocabulary [0, ${c.vocabSize})`);
  }
  checkContext(g.prompt_ids.length, steps, c, `--golden ${file}: `);
}

/** The prompt and `steps` greedy steps must fit the model's positions (checked before the run, not after it). */
export function checkContext(promptLength: number, steps: number, c: Qwen3Config, where = ''): void {
  const needed = promptLength + Math.max(0, steps - 1);
  if (needed > c.maxPositionEmbeddings) {
    throw new UsageError(
      `${where}the prompt (${promptLength} ids) and ${steps} greedy steps need ${needed} positions, over the model's max_position_embeddings ${c.maxPositionEmbeddings}`,
    );
  }
}
