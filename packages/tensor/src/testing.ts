// Helpers for GPU tests across the workspace (exported as @qwen3-webgpu/tensor/testing).
/// <reference types="@webgpu/types" preserve="true" />
import { createGpuContext, type GpuContext, type GpuContextOptions } from './context.ts';
import { maxAbsError, relativeL2 } from './reference.ts';
import { decodeXSplit, xSplitKTiles } from './x-split.ts';

/**
 * Opens a context for a test file and prints the adapter, so every test log names the GPU it ran on. Without an
 * adapter it throws NoAdapterError (the tests fail with the set-up hint; they never skip).
 */
export async function openTestContext(options: GpuContextOptions = {}): Promise<GpuContext> {
  const ctx = await createGpuContext(options);
  console.log(`[gpu] ${ctx.describe()}`);
  return ctx;
}

export interface Closeness {
  relL2: number;
  maxAbsError: number;
  maxAbsRef: number;
  /** Index of the first non-finite output, or -1. */
  firstNonFinite: number;
}

export function closeness(actual: ArrayLike<number>, expected: ArrayLike<number>): Closeness {
  let firstNonFinite = -1;
  for (let i = 0; i < actual.length; i++) {
    if (!Number.isFinite(actual[i]!)) {
      firstNonFinite = i;
      break;
    }
  }
  return { relL2: relativeL2(actual, expected), ...maxAbsError(actual, expected), firstNonFinite };
}

/** What trackBuffers sees of a device's buffers. */
export interface BufferTracker {
  /** Buffers created and not yet destroyed, with their labels. */
  readonly live: Map<GPUBuffer, string>;
  /** Buffers created so far whose label starts with `prefix` (all of them without one). */
  created(prefix?: string): number;
}

/**
 * Counts the buffers a device creates and destroys by wrapping device.createBuffer and each buffer's destroy, for
 * leak and lifetime tests. Wrap before the code under test allocates.
 */
export function trackBuffers(device: GPUDevice): BufferTracker {
  const live = new Map<GPUBuffer, string>();
  const labels: string[] = [];
  const create = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = create(descriptor);
    const label = descriptor.label ?? '';
    labels.push(label);
    live.set(buffer, label);
    const destroy = buffer.destroy.bind(buffer);
    buffer.destroy = () => {
      live.delete(buffer);
      destroy();
    };
    return buffer;
  };
  return { live, created: (prefix = '') => labels.filter((l) => l.startsWith(prefix)).length };
}

/**
 * What is wrong with a split (x-split.wgsl: xs, rowExp) of `values` [rows, k], or undefined: each row's exponent must
 * put its largest |value| in [2^14, 2^15), hi + lo must give each value back within 2^-21 of that largest one, and the
 * padding columns must be zeros.
 */
export function xSplitProblem(values: Float32Array, rows: number, k: number, rowExp: Int32Array, xs: Uint32Array): string | undefined {
  const width = xSplitKTiles(k) * 16;
  const decoded = decodeXSplit(xs, rowExp, rows, k);
  for (let r = 0; r < rows; r++) {
    const row = values.subarray(r * k, (r + 1) * k);
    const big = row.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const e = rowExp[r]!;
    if (big !== 0 && !(big * 2 ** -e >= 2 ** 14 && big * 2 ** -e < 2 ** 15)) return `row ${r}: largest |value| ${big} · 2^-${e} is outside [2^14, 2^15)`;
    for (let c = 0; c < width; c++) {
      const got = decoded[r * width + c]!;
      if (c >= k ? got !== 0 : !(Math.abs(got - row[c]!) <= 2 ** -21 * big))
        return `row ${r}, column ${c}: hi + lo gives ${got}, expected ${c >= k ? 0 : row[c]}`;
    }
  }
  return undefined;
}
