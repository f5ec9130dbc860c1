// The vitest configuration every workspace member uses.
import './node20-polyfills.mjs';
import { defineConfig } from 'vitest/config';
import { wgsl } from './wgsl-plugin.mjs';

export default defineConfig({
  plugins: [wgsl()],
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // GPU suites on software Vulkan are slow and share one adapter: one file at a time.
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 120_000,
    passWithNoTests: false,
  },
});
