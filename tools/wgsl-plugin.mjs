// Embeds `.wgsl` files as string modules, so shaders stay readable WGSL in the source tree and are inlined at
// build time. One Rollup-style plugin serves Vite (vitest) and Rolldown (tsdown).
import { readFileSync } from 'node:fs';

export function wgsl() {
  return {
    name: 'qwen3-webgpu:wgsl',
    load(id) {
      const file = id.split('?')[0];
      if (!file.endsWith('.wgsl')) return null;
      return { code: `export default ${JSON.stringify(readFileSync(file, 'utf8'))};`, map: null };
    },
  };
}
