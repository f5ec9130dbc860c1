import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseGenerationConfig, parseQwen3Config } from '../src/index.ts';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

const QWEN3_0_6B = {
  vocabSize: 151936,
  hiddenSize: 1024,
  intermediateSize: 3072,
  numHiddenLayers: 28,
  numAttentionHeads: 16,
  numKeyValueHeads: 8,
  headDim: 128,
  rmsNormEps: 1e-6,
  ropeTheta: 1e6,
  maxPositionEmbeddings: 40960,
  tieWordEmbeddings: true,
  dtype: 'bfloat16',
  bosTokenId: 151643,
  eosTokenIds: [151645],
};

describe('config.json', () => {
  it('parses the real Qwen3-0.6B config (transformers v4 shape)', () => {
    expect(parseQwen3Config(fixture('qwen3-0.6b.config.json'))).toEqual(QWEN3_0_6B);
  });
  it('parses the same model in the transformers v5 shape (dtype, rope_parameters)', () => {
    expect(parseQwen3Config(fixture('qwen3-0.6b-v5.config.json'))).toEqual(QWEN3_0_6B);
  });
  it('derives head_dim and kv heads when absent', () => {
    const c = { ...fixture('qwen3-0.6b.config.json'), head_dim: undefined, num_key_value_heads: undefined };
    const parsed = parseQwen3Config(c);
    expect(parsed.headDim).toBe(64);
    expect(parsed.numKeyValueHeads).toBe(16);
  });

  const bad: [string, (c: Record<string, unknown>) => void, RegExp][] = [
    ['another model_type', (c) => (c['model_type'] = 'llama'), /config\.json: model_type is 'llama', this loader reads 'qwen3'/],
    ['heads not divisible by kv heads', (c) => (c['num_key_value_heads'] = 6), /num_attention_heads 16 is not divisible by num_key_value_heads 6/],
    ['a missing field', (c) => delete c['hidden_size'], /missing field 'hidden_size'/],
    ['a field of the wrong type', (c) => (c['num_hidden_layers'] = '28'), /field 'num_hidden_layers' is the string "28", expected a number$/],
    ['a number given as a string', (c) => (c['hidden_size'] = '256'), /field 'hidden_size' is the string "256", expected a number$/],
    ['a fractional size', (c) => (c['hidden_size'] = 256.5), /field 'hidden_size' is 256\.5, expected an integer$/],
    ['rope_theta as a string', (c) => (c['rope_theta'] = '10000'), /field 'rope_theta' is the string "10000", expected a number$/],
    ['a boolean as a string', (c) => (c['tie_word_embeddings'] = 'true'), /field 'tie_word_embeddings' is the string "true", expected true or false$/],
    ['a null size', (c) => (c['vocab_size'] = null), /field 'vocab_size' is null, expected a number$/],
    ['a negative size', (c) => (c['intermediate_size'] = -3), /field 'intermediate_size' is -3, expected a number >0$/],
    ['a rope scaling we do not implement (v4)', (c) => (c['rope_scaling'] = { rope_type: 'yarn', factor: 4 }), /rope_scaling type 'yarn' is not implemented/],
    [
      'a rope scaling we do not implement (v5)',
      (c) => (c['rope_parameters'] = { rope_type: 'linear', rope_theta: 1e6, factor: 2 }),
      /rope_parameters type 'linear' is not implemented/,
    ],
    ['no rope theta anywhere', (c) => delete c['rope_theta'], /missing field 'rope_theta'/],
    ['attention biases', (c) => (c['attention_bias'] = true), /attention_bias = true is not supported/],
  ];
  for (const [what, mutate, message] of bad) {
    it(`rejects ${what}`, () => {
      const c = fixture('qwen3-0.6b.config.json');
      mutate(c);
      expect(() => parseQwen3Config(c)).toThrow(message);
    });
  }

  it('says what it found when the file is not an object', () => {
    expect(() => parseQwen3Config(null)).toThrow(/^config\.json: expected a JSON object, found null$/);
    expect(() => parseQwen3Config([1, 2])).toThrow(/^config\.json: expected a JSON object, found a list \[1,2\]$/);
  });
});

describe('generation_config.json', () => {
  it('reads eos ids and sampling defaults of the real Qwen3-0.6B file', () => {
    expect(parseGenerationConfig(fixture('qwen3-0.6b.generation_config.json'))).toEqual({
      eosTokenIds: [151645, 151643],
      bosTokenId: 151643,
      doSample: true,
      temperature: 0.6,
      topK: 20,
      topP: 0.95,
      minP: undefined,
      repetitionPenalty: undefined,
      maxNewTokens: undefined,
    });
  });
  it('rejects nonsense sampling values', () => {
    expect(() => parseGenerationConfig({ top_p: 3 })).toThrow(/generation_config\.json: field 'top_p' is 3, expected a number <=1$/);
    expect(() => parseGenerationConfig({ top_k: '40' })).toThrow(/generation_config\.json: field 'top_k' is the string "40", expected a number$/);
    expect(() => parseGenerationConfig({ eos_token_id: 'x' })).toThrow(/field 'eos_token_id' is the string "x", expected a token id or a list of token ids$/);
  });
});
