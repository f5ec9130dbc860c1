// The golden schema written by tools/reference/hf_golden.py (HF transformers' float32 forward), read and checked.
import { readFileSync } from 'node:fs';
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

const isNums = (v: unknown, integer = false): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!integer || Number.isInteger(x)));

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
  if (!isNums(g.prompt_ids, true) || g.prompt_ids.length === 0) throw bad('prompt_ids must be a non-empty list of token ids');
  if (!isNums(g.greedy_ids, true)) throw bad('greedy_ids must be a list of token ids');
  if (!isNums(g.native_dtype_greedy_ids, true)) throw bad('native_dtype_greedy_ids must be a list of token ids');
  if (!isNums(g.greedy_margins) || g.greedy_margins.length !== g.greedy_ids.length) throw bad('greedy_margins must hold one number per greedy id');
  if (!Array.isArray(g.last_logits_top) || g.last_logits_top.length === 0 || !g.last_logits_top.every((p) => isNums(p) && p.length === 2 && Number.isInteger(p[0]))) {
    throw bad('last_logits_top must be a list of [id, logit] pairs');
  }
  if (!Array.isArray(g.layers) || g.layers.length === 0 || !g.layers.every((l) => l && typeof l.rms === 'number' && isNums(l.first8) && typeof l.sum === 'number')) {
    throw bad('layers must be a list of {rms, first8, sum}');
  }
  return { ...(g as unknown as Golden), model: typeof g.model === 'string' ? g.model : file };
}
