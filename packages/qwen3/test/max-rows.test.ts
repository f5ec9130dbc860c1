import { describe, expect, it } from 'vitest';
import { parseQwen3Config, QWEN3_0_6B_CONFIG } from '@qwen3-webgpu/weights';
import { defaultMaxRows } from '../src/index.ts';

// The default prompt chunk: 2,048 rows unless its widest activation would exceed one storage binding.
describe('defaultMaxRows', () => {
  const mib = 2 ** 20;
  it('Qwen3-0.6B: 2,048 rows under browsers’ 128 MiB binding and under 2 GiB', () => {
    const c = parseQwen3Config({ ...QWEN3_0_6B_CONFIG });
    expect(defaultMaxRows(c, 128 * mib)).toBe(2048);
    expect(defaultMaxRows(c, 2 * 1024 * mib - 4)).toBe(2048);
  });
  it('a Qwen3-32B-wide MLP (25,600) halves it under 128 MiB ([2048, 25600] f32 is 200 MiB); tiny limits go down to 1 row', () => {
    const c = parseQwen3Config({ ...QWEN3_0_6B_CONFIG, intermediate_size: 25600 });
    expect(defaultMaxRows(c, 128 * mib)).toBe(1024);
    expect(defaultMaxRows(c, 25600 * 4 * 3)).toBe(2);
    expect(defaultMaxRows(c, 16)).toBe(1);
  });
});
