// Bundles a benchmark (or any script) into one ESM file with WGSL inlined and `webgpu` left external, for running
// here or on a GPU machine that has Node but not the workspace.
//   node tools/bundle.mjs <entry.ts> <out-dir>
import { resolve } from 'node:path';
import { build } from 'tsdown';
import { wgsl } from './wgsl-plugin.mjs';

const [entry, outDir] = process.argv.slice(2);
if (!entry || !outDir) {
  console.error('usage: node tools/bundle.mjs <entry.ts> <out-dir>');
  process.exit(2);
}
await build({
  entry: [resolve(entry)],
  outDir: resolve(outDir),
  format: 'esm',
  platform: 'node',
  dts: false,
  config: false,
  logLevel: 'warn',
  // Everything but Dawn's native package goes into the one file (workspace packages export TypeScript sources).
  deps: { neverBundle: [/^webgpu$/], alwaysBundle: (id) => id !== 'webgpu' },
  plugins: [wgsl()],
});
