// The web app's build: WGSL inlined as in every package, and the demonstration model (apps/generate/model) copied
// into the build as /model/, so the page loads it over HTTP (Range requests, `vite preview` serves them) like any
// other checkpoint folder.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { wgsl } from '../../tools/wgsl-plugin.mjs';

export const DEMO_MODEL = fileURLToPath(new URL('../generate/model/', import.meta.url));
const MODEL_FILES = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];

function demoModel(): Plugin {
  return {
    name: 'qwen3-webgpu:demo-model',
    generateBundle() {
      for (const name of MODEL_FILES) this.emitFile({ type: 'asset', fileName: `model/${name}`, source: readFileSync(`${DEMO_MODEL}${name}`) });
    },
  };
}

export default defineConfig({
  plugins: [wgsl(), demoModel()],
  // A missing file must be a 404 (the loader probes for optional files), not the SPA fallback's index.html.
  appType: 'mpa',
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
  preview: { host: '127.0.0.1', port: 4173 },
});
