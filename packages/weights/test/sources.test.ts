// One checkpoint, four sources (directory, URL with Range, picked Files, ArrayBuffers): the same tensors, the same
// bytes, and for every defect the same rule, tensor and file in the error.
import { closeSync, openAsBlob, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBytes, type GpuContext } from '@qwen3-webgpu/tensor';
import { openTestContext } from '@qwen3-webgpu/tensor/testing';
import {
  loadQwen3Weights,
  memoryFiles,
  modelFiles,
  openCheckpoint,
  readTensorF32,
  WeightsError,
  type CheckpointFiles,
  type LoadOptions,
} from '../src/index.ts';
import { writeSafetensors, writeSyntheticCheckpoint } from '../src/node/index.ts';
import { serveDirectory, type TestServer } from './http-server.ts';
import { tempDir, tinyConfig } from './helpers.ts';

const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

/** Every file of a directory as File objects the way a folder picker gives them ('folder/name'). */
function filesOf(dir: string, folder: string): File[] {
  return readdirSync(dir).map((name) => {
    const f = new File([readFileSync(join(dir, name))], name);
    Object.defineProperty(f, 'webkitRelativePath', { value: `${folder}/${name}` });
    return f;
  });
}
const buffersOf = (dir: string) => Object.fromEntries(readdirSync(dir).map((name) => [name, new Uint8Array(readFileSync(join(dir, name))).buffer]));

/** The four ways to reach one directory. */
async function sources(dir: string): Promise<[string, CheckpointFiles][]> {
  const server = await serveDirectory(dir);
  servers.push(server);
  return [
    ['directory', modelFiles(dir)],
    // What openCheckpoint makes of a URL string, a File[] and a name → ArrayBuffer record, as callers pass them.
    ['url', modelFiles(server.url)],
    ['files', modelFiles(filesOf(dir, 'Qwen3-tiny'))],
    ['arraybuffers', modelFiles(buffersOf(dir))],
  ];
}

async function synthetic(name: string, options: Partial<Parameters<typeof writeSyntheticCheckpoint>[1]> = {}) {
  const dir = tempDir(name);
  await writeSyntheticCheckpoint(dir, { config: tinyConfig(), seed: 11, ...options });
  return dir;
}

describe('checkpoint sources', () => {
  it('give the same tensors and bytes from a directory, a URL, picked Files and ArrayBuffers (sharded)', async () => {
    const dir = await synthetic('same', { shards: 3 });
    const fromDir = await openCheckpoint(dir);
    for (const [label, files] of await sources(dir)) {
      const c = await openCheckpoint(files);
      expect(c.files, label).toBe(files);
      expect(files.location, label).toBe({ directory: dir, url: servers.at(-1)!.url, files: 'Qwen3-tiny', arraybuffers: 'the given files' }[label]);
      expect([...c.tensors.keys()], label).toEqual([...fromDir.tensors.keys()]);
      expect(c.config, label).toEqual(fromDir.config);
      expect(c.totalBytes, label).toBe(fromDir.totalBytes);
      for (const name of ['model.embed_tokens.weight', 'model.layers.1.self_attn.k_norm.weight', 'model.norm.weight']) {
        expect(await readTensorF32(c, name), `${label} ${name}`).toEqual(await readTensorF32(fromDir, name));
      }
    }
    rmSync(dir, { recursive: true });
  });

  it('reads over HTTP with Range requests: headers first, then tensor-sized pieces, never a whole shard', async () => {
    const dir = await synthetic('ranges', { shards: 2 });
    const server = await serveDirectory(dir);
    servers.push(server);
    const c = await openCheckpoint(server.url);
    const shardBytes = (name: string) => readFileSync(join(dir, name)).byteLength;
    const shardRequests = server.requests.filter((r) => r.path.endsWith('.safetensors'));
    expect(shardRequests.length).toBeGreaterThan(0);
    for (const r of shardRequests) {
      expect(r.status, `${r.path} ${r.range}`).toBe(206);
      expect(r.bytes).toBeLessThan(shardBytes(r.path.slice(1)));
    }
    await readTensorF32(c, 'model.layers.0.mlp.down_proj.weight');
    const last = server.requests.at(-1)!;
    const entry = c.tensors.get('model.layers.0.mlp.down_proj.weight')!;
    expect(last.range).toBe(`bytes=${entry.begin}-${entry.end - 1}`);
    rmSync(dir, { recursive: true });
  });

  it('accepts a small checkpoint from a server that ignores Range', async () => {
    const dir = await synthetic('no-ranges');
    const server = await serveDirectory(dir, { ranges: false });
    servers.push(server);
    const c = await openCheckpoint(new URL(server.url));
    expect(await readTensorF32(c, 'model.norm.weight')).toEqual(await readTensorF32(await openCheckpoint(dir), 'model.norm.weight'));
  });

  it('refuses a directory path where there is no file system, naming the path', async () => {
    const { directoryFiles } = await import('../src/sources/no-directory.ts');
    expect(() => directoryFiles('/models/x')).toThrow(
      /^\/models\/x: a directory path can only be read in Node; in a browser pass a URL, picked Files or ArrayBuffers$/,
    );
  });

  it('names an unreachable server in a one-line error', async () => {
    const server = await serveDirectory(tempDir('gone'));
    await server.close();
    await expect(openCheckpoint(server.url)).rejects.toThrow(new RegExp(`^${server.url.replace(/[.]/g, '\\.')}config\\.json: cannot fetch \\(`));
  });

  // Each defect, made in a fresh directory, must fail the same way from every source.
  const defects: [string, (dir: string) => Promise<void> | void][] = [
    ['no config.json', (dir) => rmSync(join(dir, 'config.json'))],
    ['invalid config.json', (dir) => writeFileSync(join(dir, 'config.json'), '{"model_type": ')],
    ['a config of another model type', (dir) => writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig({ model_type: 'qwen2' })))],
    [
      'no weights',
      (dir) =>
        rmSync(join(dir, 'model-00001-of-00002.safetensors')) ??
        rmSync(join(dir, 'model-00002-of-00002.safetensors')) ??
        rmSync(join(dir, 'model.safetensors.index.json')),
    ],
    ['a missing shard', (dir) => rmSync(join(dir, 'model-00002-of-00002.safetensors'))],
    [
      'a truncated shard',
      (dir) => writeFileSync(join(dir, 'model-00002-of-00002.safetensors'), readFileSync(join(dir, 'model-00002-of-00002.safetensors')).subarray(0, 5)),
    ],
    [
      'a header past the end',
      (dir) => {
        const f = join(dir, 'model-00001-of-00002.safetensors');
        const bytes = readFileSync(f);
        bytes.writeBigUInt64LE(10n ** 7n, 0);
        writeFileSync(f, bytes);
      },
    ],
    [
      'a tensor in two shards',
      async (dir) => {
        const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
        await writeSafetensors(join(dir, 'model-extra.safetensors'), [{ name: 'model.norm.weight', dtype: 'BF16', shape: [32], data: new Uint8Array(64) }]);
        index.weight_map['x.extra'] = 'model-extra.safetensors';
        writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
      },
    ],
    ['a missing required tensor', (dir) => writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig({ num_hidden_layers: 3 })))],
    ['a shape that disagrees with config.json', (dir) => writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig({ intermediate_size: 64 })))],
    ['a config with fewer layers than the file', (dir) => writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig({ num_hidden_layers: 1 })))],
    ['a config field of the wrong type', (dir) => writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig({ hidden_size: '32' })))],
  ];
  for (const [what, breakIt] of defects) {
    it(`reports ${what} identically from every source`, async () => {
      const dir = await synthetic('defect', { shards: 2 });
      await breakIt(dir);
      const seen: string[] = [];
      for (const [label, files] of await sources(dir)) {
        const err = await openCheckpoint(files).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err, label).toBeInstanceOf(WeightsError);
        const e = err as WeightsError;
        expect(e.message).not.toContain('\n');
        // The file relative to the source's folder, and the rule with the folder's own name taken out.
        const relative = e.file === files.location ? '.' : e.file.slice(files.location.length).replace(/^\//, '');
        seen.push(`${relative} | ${e.tensor ?? ''} | ${e.rule.replaceAll(files.location, '<dir>')}`);
      }
      console.log(`${what}: ${seen[0]}`);
      expect(new Set(seen).size, seen.join('\n')).toBe(1);
      rmSync(dir, { recursive: true });
    });
  }
});

describe('loadQwen3Weights from a URL', () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await openTestContext();
  });
  afterAll(() => ctx?.destroy());

  it('streams every tensor into GPU buffers byte for byte, with progress up to the total', async () => {
    const dir = await synthetic('gpu-url', { shards: 2, config: tinyConfig({ hidden_size: 33, vocab_size: 51 }) });
    const server = await serveDirectory(dir);
    servers.push(server);
    let last = { bytesDone: 0, bytesTotal: -1 };
    const weights = await loadQwen3Weights(ctx, server.url, { chunkBytes: 256, onProgress: (p) => (last = p) });
    expect(last.bytesDone).toBe(last.bytesTotal);
    const entry = weights.checkpoint.tensors.get('model.layers.1.mlp.up_proj.weight')!;
    const gpu = await readBytes(weights.layers[1]!['mlp.up_proj'].tensor);
    const disk = readFileSync(join(dir, entry.file.slice(server.url.length))).subarray(entry.begin, entry.end);
    expect(Buffer.compare(Buffer.from(gpu.subarray(0, entry.end - entry.begin)), disk)).toBe(0);
    weights.destroy();
  });
});

// h16's faults at load, from each source that reads a file which can change under it (a directory, a URL, and Blobs
// backed by files on disk — Node's fs.openAsBlob, which fails like a browser's picked File when the file changes).
describe('faults at load from every source', () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await openTestContext();
  });
  afterAll(() => ctx?.destroy());

  /** The directory's weights file as three sources name it: [label, source, name of model.safetensors]. */
  async function fileSources(dir: string): Promise<[string, CheckpointFiles, string][]> {
    const server = await serveDirectory(dir);
    servers.push(server);
    const blobs = new Map<string, Blob>();
    for (const name of readdirSync(dir)) blobs.set(name, await openAsBlob(join(dir, name)));
    return [
      ['directory', modelFiles(dir), join(dir, 'model.safetensors')],
      ['url', modelFiles(server.url), `${server.url}model.safetensors`],
      ['blobs', memoryFiles(blobs), 'the given files/model.safetensors'],
    ];
  }
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

  it('warns about NaN and ±Inf with the same line, naming the file as each source does (GPU and host loaders)', async () => {
    const dir = await synthetic('nan-sources');
    const file = join(dir, 'model.safetensors');
    const name = 'model.layers.1.self_attn.k_proj.weight';
    const entry = (await openCheckpoint(dir)).tensors.get(name)!;
    const fd = openSync(file, 'r+');
    [0x7fc0, 0x7f80, 0xff80].forEach((b, i) => writeSync(fd, Uint8Array.of(b & 0xff, b >> 8), 0, 2, entry.begin + 2 * (3 + 5 * i)));
    closeSync(fd);
    for (const [label, source, weightsFile] of await fileSources(dir)) {
      const line = `${weightsFile}: tensor '${name}' holds 3 non-finite values (NaN or ±Inf); the model's output will not be finite`;
      const seen: string[] = [];
      const weights = await loadQwen3Weights(ctx, source, { chunkBytes: 256, onWarning: (l) => seen.push(l) });
      expect(seen, label).toEqual([line]);
      expect(weights.warnings, label).toEqual([line]);
      weights.destroy();
      const host: string[] = [];
      await readTensorF32(weights.checkpoint, name, (l) => host.push(l));
      await readTensorF32(weights.checkpoint, 'model.layers.1.self_attn.q_proj.weight', (l) => host.push(l));
      expect(host, label).toEqual([line]);
    }
    rmSync(dir, { recursive: true });
  });

  /** Loads from each source of a fresh checkpoint, calling `change(file)` once, after the first chunk. */
  async function changedWhileLoading(change: (file: string) => void, rule: (label: string, size: number) => string) {
    for (let k = 0; k < 3; k++) {
      const dir = await synthetic(`changed-${k}`);
      const file = join(dir, 'model.safetensors');
      const size = statSync(file).size;
      const [label, source, weightsFile] = (await fileSources(dir))[k]!;
      const checkpoint = await openCheckpoint(source);
      let once = false;
      const options: LoadOptions = {
        chunkBytes: 256,
        onProgress: () => {
          if (!once) change(file);
          once = true;
        },
      };
      const err = await loadQwen3Weights(ctx, checkpoint, options).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, label).toBeInstanceOf(WeightsError);
      expect((err as Error).message, label).toMatch(new RegExp(`^${escape(weightsFile)}: tensor '[^']+': (${rule(label, size)})$`));
      rmSync(dir, { recursive: true });
    }
  }
  const unreadableBlob = 'changed while being read: no longer readable \\(NotReadableError\\), as when the file on disk changes after it was picked';

  it('a weights file that shrinks while it loads: an error naming the file and the tensor, from every source', async () => {
    await changedWhileLoading(
      (file) => truncateSync(file, statSync(file).size - 4096),
      (label, size) => (label === 'blobs' ? unreadableBlob : `changed while being read: ${size} bytes when opened, now ${size - 4096}`),
    );
  });

  it('a weights file rewritten in place (same size, newer modification time) while it loads, from every source', async () => {
    await changedWhileLoading(
      (file) => {
        const fd = openSync(file, 'r+');
        writeSync(fd, new Uint8Array(64).fill(7), 0, 64, statSync(file).size - 64);
        closeSync(fd);
        utimesSync(file, new Date(), new Date(Date.now() + 5000));
      },
      (label) => (label === 'blobs' ? unreadableBlob : 'changed while being read: modified after it was opened'),
    );
  });
});
