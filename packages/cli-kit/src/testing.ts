// Spawning a built app (dist/main.mjs; turbo builds it before its tests) in end-to-end tests.
import { spawnSync } from 'node:child_process';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The JSON object on stdout's last line (with --json). */
  json: <T = Record<string, unknown>>() => T;
}

export function spawnCli(main: string, args: string[], options: { input?: string; env?: Record<string, string> } = {}): CliRun {
  const r = spawnSync(process.execPath, [main, ...args], { input: options.input ?? '', encoding: 'utf8', env: { ...process.env, ...options.env }, timeout: 600_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json: <T>() => JSON.parse(r.stdout.trimEnd().split('\n').at(-1)!) as T };
}

/** stderr without Dawn's start-up warnings about lavapipe's limits (printed by the native module, not by the app). */
export const ownStderr = (s: string) => s.split('\n').filter((l) => l !== '' && !l.startsWith('Warning: maxDynamic')).join('\n');

/** Environment under which Vulkan finds no driver, so WebGPU has no adapter. */
export const NO_ADAPTER_ENV = { VK_DRIVER_FILES: '/nonexistent/icd.json', VK_ICD_FILENAMES: '/nonexistent/icd.json' };
