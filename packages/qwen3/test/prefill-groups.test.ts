import { describe, expect, it } from 'vitest';
import { prefillGroups } from '../src/gpu/model.ts';

describe('prefillGroups: where a prompt chunk is cut into command buffers', () => {
  it('covers every stage once, in order: 2 first, then growing, never more buffers than allowed', () => {
    for (const stages of [1, 2, 3, 7, 30, 58, 130]) {
      for (const [most, growth] of [1, 2, 4, 16, 100].flatMap(
        (m) =>
          [
            [m, 1.3],
            [m, 2],
          ] as const,
      )) {
        const b = prefillGroups(stages, most, growth);
        expect(b[0]).toBe(0);
        expect(b.at(-1)).toBe(stages);
        const sizes = b.slice(1).map((end, i) => end - b[i]!);
        expect(sizes.every((s) => s > 0)).toBe(true);
        expect(sizes.length).toBeLessThanOrEqual(most);
        if (most > 1 && stages > 2) expect(sizes[0]).toBe(2);
        // Growing, but for the last buffer (what is left, or the tail merged under the cap).
        for (let i = 1; i < sizes.length - 1; i++) expect(sizes[i]).toBeGreaterThanOrEqual(sizes[i - 1]!);
      }
    }
    expect(prefillGroups(58, 16)).toEqual([0, 2, 5, 8, 12, 18, 25, 35, 48, 58]);
    expect(prefillGroups(58, 1)).toEqual([0, 58]);
    // Recorded chunks replay far faster than the GPU runs them: fewer, doubling buffers.
    expect(prefillGroups(58, 16, 2)).toEqual([0, 2, 6, 14, 30, 58]);
  });
});
