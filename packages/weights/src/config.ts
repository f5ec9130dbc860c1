// config.json / generation_config.json → typed, validated objects. Accepts transformers v4 (torch_dtype, top-level
// rope_theta, rope_scaling) and v5 (dtype, rope_parameters) shapes.
import { z } from 'zod';
import { WeightsError } from './errors.ts';
import { readJsonFile, type CheckpointFiles } from './sources/files.ts';

export interface Qwen3Config {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  /** The checkpoint's declared dtype ('bfloat16', 'float16', 'float32'), when given. */
  dtype: string | undefined;
  bosTokenId: number | undefined;
  eosTokenIds: number[];
}

export interface GenerationConfig {
  eosTokenIds: number[];
  bosTokenId: number | undefined;
  doSample: boolean | undefined;
  temperature: number | undefined;
  topK: number | undefined;
  topP: number | undefined;
  minP: number | undefined;
  repetitionPenalty: number | undefined;
  maxNewTokens: number | undefined;
}

const positiveInt = z.number().int().positive();
const tokenIds = z.union([z.number().int().nonnegative(), z.array(z.number().int().nonnegative())]).nullish();
// RoPE variants we implement: plain RoPE ('default'; HF also writes null or omits it).
const ropeParameters = z
  .object({ rope_type: z.string().optional(), type: z.string().optional(), rope_theta: z.number().positive().optional() })
  .passthrough()
  .nullish();

const configSchema = z
  .object({
    model_type: z.string(),
    vocab_size: positiveInt,
    hidden_size: positiveInt,
    intermediate_size: positiveInt,
    num_hidden_layers: positiveInt,
    num_attention_heads: positiveInt,
    num_key_value_heads: positiveInt.optional(),
    head_dim: positiveInt.nullish(),
    rms_norm_eps: z.number().positive(),
    rope_theta: z.number().positive().optional(),
    rope_scaling: ropeParameters,
    rope_parameters: ropeParameters,
    max_position_embeddings: positiveInt,
    tie_word_embeddings: z.boolean().optional(),
    torch_dtype: z.string().nullish(),
    dtype: z.string().nullish(),
    hidden_act: z.string().optional(),
    attention_bias: z.boolean().optional(),
    bos_token_id: z.number().int().nonnegative().nullish(),
    eos_token_id: tokenIds,
  })
  .passthrough();

const generationSchema = z
  .object({
    bos_token_id: z.number().int().nonnegative().nullish(),
    eos_token_id: tokenIds,
    do_sample: z.boolean().optional(),
    temperature: z.number().nonnegative().optional(),
    top_k: z.number().int().nonnegative().optional(),
    top_p: z.number().positive().max(1).optional(),
    min_p: z.number().nonnegative().max(1).nullish(),
    repetition_penalty: z.number().positive().optional(),
    max_new_tokens: positiveInt.optional(),
  })
  .passthrough();

const asList = (v: number | number[] | null | undefined) => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

const EXPECTED: Record<string, string> = {
  int: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  string: 'a string',
  object: 'a JSON object',
  array: 'a list',
};

/** A found value as a message shows it: its JSON (shortened) and, where JSON hides it, its kind. */
function shown(v: unknown): string {
  const json = JSON.stringify(v) ?? String(v);
  const text = json.length > 40 ? `${json.slice(0, 37)}…` : json;
  return typeof v === 'string' ? `the string ${text}` : Array.isArray(v) ? `a list ${text}` : text;
}

/** One line from zod's first issue: a missing field, or what the field holds and what was expected. */
function zodMessage(err: z.ZodError, json: unknown): string {
  const issue = err.issues[0]!;
  let value: unknown = json;
  let present = true;
  for (const key of issue.path) {
    present = value !== null && typeof value === 'object' && Object.hasOwn(value, key as PropertyKey);
    value = present ? (value as Record<PropertyKey, unknown>)[key as PropertyKey] : undefined;
  }
  if (issue.path.length === 0) return `expected a JSON object, found ${shown(json)}`;
  const where = issue.path.join('.');
  if (!present) return `missing field '${where}'`;
  const expected =
    issue.code === 'invalid_union'
      ? 'a token id or a list of token ids'
      : issue.code === 'invalid_type'
        ? (EXPECTED[issue.expected] ?? issue.expected)
        : issue.message.replace(/^Invalid input: /, '').replace(/^Too (small|big): expected number to be /, 'a number ');
  return `field '${where}' is ${shown(value)}, expected ${expected}`;
}

/** Validates a parsed config.json object. `file` names it in errors. */
export function parseQwen3Config(json: unknown, file = 'config.json'): Qwen3Config {
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) throw new WeightsError(file, zodMessage(parsed.error, json));
  const c = parsed.data;
  if (c.model_type !== 'qwen3') throw new WeightsError(file, `model_type is '${c.model_type}', this loader reads 'qwen3'`);
  const kvHeads = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.num_attention_heads % kvHeads !== 0) {
    throw new WeightsError(file, `num_attention_heads ${c.num_attention_heads} is not divisible by num_key_value_heads ${kvHeads}`);
  }
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new WeightsError(file, `head_dim ${headDim} must be an even integer (RoPE pairs channels)`);
  for (const [key, rope] of [
    ['rope_scaling', c.rope_scaling],
    ['rope_parameters', c.rope_parameters],
  ] as const) {
    const type = rope?.rope_type ?? rope?.type ?? 'default';
    if (type !== 'default') throw new WeightsError(file, `${key} type '${type}' is not implemented (only plain RoPE is)`);
  }
  const ropeTheta = c.rope_parameters?.rope_theta ?? c.rope_theta ?? c.rope_scaling?.rope_theta;
  if (ropeTheta === undefined) throw new WeightsError(file, "missing field 'rope_theta' (or rope_parameters.rope_theta)");
  if (c.attention_bias) throw new WeightsError(file, 'attention_bias = true is not supported (Qwen3 has no biases)');
  if (c.hidden_act !== undefined && c.hidden_act !== 'silu') throw new WeightsError(file, `hidden_act '${c.hidden_act}' is not supported (Qwen3 uses silu)`);
  return {
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numHiddenLayers: c.num_hidden_layers,
    numAttentionHeads: c.num_attention_heads,
    numKeyValueHeads: kvHeads,
    headDim,
    rmsNormEps: c.rms_norm_eps,
    ropeTheta,
    maxPositionEmbeddings: c.max_position_embeddings,
    tieWordEmbeddings: c.tie_word_embeddings ?? false,
    dtype: c.dtype ?? c.torch_dtype ?? undefined,
    bosTokenId: c.bos_token_id ?? undefined,
    eosTokenIds: asList(c.eos_token_id),
  };
}

export function parseGenerationConfig(json: unknown, file = 'generation_config.json'): GenerationConfig {
  const parsed = generationSchema.safeParse(json);
  if (!parsed.success) throw new WeightsError(file, zodMessage(parsed.error, json));
  const g = parsed.data;
  return {
    eosTokenIds: asList(g.eos_token_id),
    bosTokenId: g.bos_token_id ?? undefined,
    doSample: g.do_sample,
    temperature: g.temperature,
    topK: g.top_k,
    topP: g.top_p,
    minP: g.min_p ?? undefined,
    repetitionPenalty: g.repetition_penalty,
    maxNewTokens: g.max_new_tokens,
  };
}

/**
 * Reads and parses a JSON file of a checkpoint folder (`readJson(checkpoint.files, 'tokenizer_config.json')`).
 * Errors name the file; a missing file is "cannot read: no such file (ENOENT)", as a directory read would say.
 */
export async function readJson(files: CheckpointFiles, file: string): Promise<unknown> {
  const json = await readJsonFile(files, file);
  if (json === undefined) throw new WeightsError(files.path(file), 'cannot read: no such file (ENOENT)');
  return json;
}
