// Spawning a built app (dist/main.mjs; turbo builds it before its tests) in end-to-end tests.
import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The JSON object on stdout's last line (with --json). */
  json: <T = Record<string, unknown>>() => T;
}

export function spawnCli(main: string, args: string[], options: { input?: string; env?: Record<string, string> } = {}): CliRun {
  const r = spawnSync(process.execPath, [main, ...args], {
    input: options.input ?? '',
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    timeout: 600_000,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json: <T>() => JSON.parse(r.stdout.trimEnd().split('\n').at(-1)!) as T };
}

/** stderr without Dawn's start-up warnings about lavapipe's limits (printed by the native module, not by the app). */
export const ownStderr = (s: string) =>
  s
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('Warning: maxDynamic'))
    .join('\n');

/** Environment under which Vulkan finds no driver, so WebGPU has no adapter. */
export const NO_ADAPTER_ENV = { VK_DRIVER_FILES: '/nonexistent/icd.json', VK_ICD_FILENAMES: '/nonexistent/icd.json' };

/**
 * A copy of checkpoint `src` in `dest` whose tensor `name` holds NaN and +Inf (BF16/F16: 0x7fc0 and 0x7f80 halves;
 * F32: NaN and +Inf words) at its first two values: a model whose forward is not finite from that tensor on.
 */
export async function copyWithNonFinite(src: string, dest: string, name: string): Promise<string> {
  const { readSafetensorsHeader } = await import('@qwen3-webgpu/weights');
  cpSync(src, dest, { recursive: true });
  const file = join(dest, 'model.safetensors');
  const t = (await readSafetensorsHeader(file)).tensors.find((x) => x.name === name);
  if (!t) throw new Error(`${file} has no tensor ${name}`);
  const bytes =
    t.dtype === 'F32'
      ? new Uint8Array(Float32Array.of(Number.NaN, Number.POSITIVE_INFINITY).buffer)
      : new Uint8Array(Uint16Array.of(t.dtype === 'BF16' ? 0x7fc0 : 0x7e00, t.dtype === 'BF16' ? 0x7f80 : 0x7c00).buffer);
  const fd = openSync(file, 'r+');
  writeSync(fd, bytes, 0, bytes.byteLength, t.begin);
  closeSync(fd);
  return dest;
}
