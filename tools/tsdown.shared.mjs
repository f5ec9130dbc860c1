// The tsdown configuration every workspace member uses: ESM, WGSL inlined, declarations from TypeScript 7's
// native compiler (rolldown-plugin-dts's classic path needs the JS compiler API, which TypeScript 7 no longer has).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defineConfig } from 'tsdown';
import { wgsl } from './wgsl-plugin.mjs';

function nativeTsc() {
  const fromTs = createRequire(createRequire(import.meta.url).resolve('typescript/package.json'));
  const pkg = fromTs.resolve(`@typescript/typescript-${process.platform}-${process.arch}/package.json`);
  return join(dirname(pkg), 'lib', process.platform === 'win32' ? 'tsc.exe' : 'tsc');
}

/**
 * Libraries keep their @qwen3-webgpu/* imports external (peer dependencies), and their `#…` subpath imports too:
 * those are package.json `imports` with a "node" and a "default" branch (tensor's `#platform`), resolved where the
 * package is used, so a browser bundler never sees the Node branch. Apps (`bundleWorkspace`) inline the workspace
 * packages, since inside the workspace those export TypeScript sources; they build for Node, so `#…` resolves to
 * the Node branch then.
 * @param {{ entry: string[], dts?: boolean, platform?: 'node' | 'neutral', bundleWorkspace?: boolean }} options
 */
export function config({ entry, dts = true, platform = 'neutral', bundleWorkspace = false }) {
  return defineConfig({
    entry,
    format: 'esm',
    platform,
    dts: dts ? { tsgo: { path: nativeTsc() } } : false,
    deps: bundleWorkspace ? { neverBundle: [/^webgpu$/, /^node:/], alwaysBundle: [/^@qwen3-webgpu\//] } : { neverBundle: [/^webgpu$/, /^node:/, /^#/] },
    plugins: [wgsl()],
  });
}
