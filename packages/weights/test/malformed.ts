// The malformed inputs of the weights tests, shared with the CLI's end-to-end test (one line on stderr for each).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors, writeSyntheticCheckpoint, type SyntheticOptions } from '../src/node/index.ts';
import { rawSafetensors, tinyConfig } from './helpers.ts';

const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });
export function malformedSafetensors(dir: string): [string, () => string, RegExp][] {
  return [
    [
      'a truncated file',
      () => {
        const p = join(dir, 'trunc.safetensors');
        writeFileSync(p, new Uint8Array(5));
        return p;
      },
      /truncated: 5 bytes cannot hold the 8-byte header length/,
    ],
    [
      'a header length past the end of the file',
      () => rawSafetensors(join(dir, 'len.safetensors'), { a: f32([1], 0, 4) }, new Uint8Array(4), 10_000n),
      /header length 10000 runs past the end of the file/,
    ],
    [
      'a header length of 2^63',
      () => rawSafetensors(join(dir, 'huge.safetensors'), '{}', new Uint8Array(0), 2n ** 63n),
      /header length 9223372036854775808 exceeds the 100 MB limit/,
    ],
    ['invalid JSON', () => rawSafetensors(join(dir, 'json.safetensors'), '{"a": [1, 2'), /header is not valid UTF-8 JSON/],
    ['a header that is not an object', () => rawSafetensors(join(dir, 'array.safetensors'), '[1, 2]'), /header is not a JSON object \(got an array\)/],
    [
      'an unknown dtype',
      () => rawSafetensors(join(dir, 'dtype.safetensors'), { a: { dtype: 'Q7', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)),
      /tensor 'a': unknown dtype "Q7"/,
    ],
    [
      'an unsupported dtype',
      () => rawSafetensors(join(dir, 'i64.safetensors'), { a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)),
      /tensor 'a': unsupported dtype I64/,
    ],
    [
      'a negative shape entry',
      () => rawSafetensors(join(dir, 'neg.safetensors'), { a: f32([-1, 2], 0, 8) }, new Uint8Array(8)),
      /tensor 'a': shape entry -1 is not a non-negative integer/,
    ],
    [
      'a fractional shape entry',
      () => rawSafetensors(join(dir, 'frac.safetensors'), { a: f32([1.5], 0, 4) }, new Uint8Array(4)),
      /tensor 'a': shape entry 1.5 is not a non-negative integer/,
    ],
    [
      'a range out of bounds',
      () => rawSafetensors(join(dir, 'oob.safetensors'), { a: f32([4], 0, 16) }, new Uint8Array(8)),
      /tensor 'a': data_offsets \[0, 16\] run past the data section \(8 bytes\)/,
    ],
    [
      'overlapping tensors',
      () => rawSafetensors(join(dir, 'overlap.safetensors'), { a: f32([2], 0, 8), b: f32([2], 4, 12) }, new Uint8Array(12)),
      /tensor 'b': overlaps the previous tensor/,
    ],
    [
      'a gap between tensors',
      () => rawSafetensors(join(dir, 'gap.safetensors'), { a: f32([1], 0, 4), b: f32([1], 8, 12) }, new Uint8Array(12)),
      /tensor 'b': leaves a gap of 4 bytes/,
    ],
    [
      'trailing bytes no tensor owns',
      () => rawSafetensors(join(dir, 'tail.safetensors'), { a: f32([1], 0, 4) }, new Uint8Array(12)),
      /8 bytes at the end of the data section belong to no tensor/,
    ],
    [
      'byte length ≠ shape × dtype',
      () => rawSafetensors(join(dir, 'bytes.safetensors'), { a: f32([3], 0, 8) }, new Uint8Array(8)),
      /tensor 'a': byte length 8 ≠ shape \[3\] × F32 \(12 bytes\)/,
    ],
    [
      'offsets that end before they begin',
      () => rawSafetensors(join(dir, 'rev.safetensors'), { a: f32([0], 4, 0) }, new Uint8Array(4)),
      /end before they begin/,
    ],
    ['a missing file', () => join(dir, 'nope.safetensors'), /cannot open: no such file \(ENOENT\)$/],
  ];
}

/** A synthetic checkpoint in base/name (tiny config unless options say otherwise). */
async function synthetic(base: string, name: string, options: Partial<SyntheticOptions> = {}): Promise<string> {
  const dir = join(base, name);
  await writeSyntheticCheckpoint(dir, { config: tinyConfig(), seed: 7, ...options });
  return dir;
}

/**
 * Checkpoint directories openCheckpoint must reject, each with the one-line message it must give: the weights tests
 * check the loader; apps/generate checks that `pnpm generate --model <dir>` prints that one line and nothing else.
 */
export function malformedCheckpoints(base: string): [string, () => Promise<string>, RegExp][] {
  return [
    [
      'rejects an index that names a missing shard',
      async () => {
        const dir = await synthetic(base, 'missing-shard', { shards: 2 });
        rmSync(join(dir, 'model-00002-of-00002.safetensors'));
        return dir;
      },
      /model\.safetensors\.index\.json: names shard 'model-00002-of-00002\.safetensors', which is missing/,
    ],
    [
      'rejects a tensor stored in two shards',
      async () => {
        const dir = await synthetic(base, 'twice', { shards: 2 });
        const indexFile = join(dir, 'model.safetensors.index.json');
        const index = JSON.parse(readFileSync(indexFile, 'utf8')) as { weight_map: Record<string, string> };
        await writeSafetensors(join(dir, 'model-extra.safetensors'), [{ name: 'model.norm.weight', dtype: 'BF16', shape: [32], data: new Uint8Array(64) }]);
        index.weight_map['model.rotary_emb.inv_freq'] = 'model-extra.safetensors';
        writeFileSync(indexFile, JSON.stringify(index));
        return dir;
      },
      /tensor 'model\.norm\.weight': also stored in model-0000[12]-of-00002\.safetensors/,
    ],
    [
      'rejects a missing required tensor',
      async () => {
        const dir = await synthetic(base, 'missing-tensor');
        writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig({ num_hidden_layers: 3 })));
        return dir;
      },
      /tensor 'model\.layers\.2\.input_layernorm\.weight': missing required tensor \(config\.json implies shape \[32\]\)/,
    ],
    [
      'rejects an untied checkpoint without lm_head.weight',
      async () => {
        const dir = await synthetic(base, 'untied-missing');
        writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig({ tie_word_embeddings: false })));
        return dir;
      },
      /tensor 'lm_head\.weight': missing required tensor/,
    ],
    [
      'rejects a tensor whose shape disagrees with config.json',
      async () => {
        const dir = await synthetic(base, 'shape');
        writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig({ intermediate_size: 64 })));
        return dir;
      },
      /tensor 'model\.layers\.0\.mlp\.gate_proj\.weight': shape \[48, 32\] does not match \[64, 32\] implied by config\.json/,
    ],
    [
      'rejects a config with heads not divisible by kv heads, naming the file',
      async () => {
        const dir = await synthetic(base, 'heads');
        writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig({ num_key_value_heads: 3 })));
        return dir;
      },
      /config\.json: num_attention_heads 4 is not divisible by num_key_value_heads 3/,
    ],
    [
      'rejects a config of another model type',
      async () => {
        const dir = await synthetic(base, 'type');
        writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig({ model_type: 'qwen2' })));
        return dir;
      },
      /config\.json: model_type is 'qwen2', this loader reads 'qwen3'/,
    ],
    [
      'rejects a config with fewer layers than the file (a truncated model would run)',
      async () => {
        const dir = await synthetic(base, 'fewer-layers', { config: tinyConfig({ num_hidden_layers: 3 }) });
        writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig({ num_hidden_layers: 1 })));
        return dir;
      },
      /model\.safetensors: holds 3 decoder layers \(model\.layers\.0 … 2\), but config\.json says num_hidden_layers 1$/,
    ],
    [
      'refuses a FIFO as model.safetensors instead of blocking on it',
      async () => {
        const dir = await synthetic(base, 'fifo');
        rmSync(join(dir, 'model.safetensors'));
        execFileSync('mkfifo', [join(dir, 'model.safetensors')]);
        return dir;
      },
      /model\.safetensors: a FIFO \(named pipe\), expected a regular file$/,
    ],
    [
      'refuses a FIFO as config.json instead of blocking on it',
      async () => {
        const dir = await synthetic(base, 'fifo-config');
        rmSync(join(dir, 'config.json'));
        execFileSync('mkfifo', [join(dir, 'config.json')]);
        return dir;
      },
      /config\.json: a FIFO \(named pipe\), expected a regular file$/,
    ],
    [
      'names the file when model.safetensors is a directory',
      async () => {
        const dir = await synthetic(base, 'is-dir');
        rmSync(join(dir, 'model.safetensors'));
        mkdirSync(join(dir, 'model.safetensors'));
        return dir;
      },
      /\/model\.safetensors: a directory, expected a regular file$/,
    ],
    [
      'reports a symbolic-link loop as such, not as a missing file',
      async () => {
        const dir = await synthetic(base, 'loop');
        renameSync(join(dir, 'model.safetensors'), join(dir, 'real.safetensors'));
        symlinkSync('b', join(dir, 'model.safetensors'));
        symlinkSync('model.safetensors', join(dir, 'b'));
        return dir;
      },
      /\/model\.safetensors: cannot read: a loop of symbolic links \(ELOOP\)$/,
    ],
  ];
}
