/** Thrown when no WebGPU adapter (or device) can be had. The message says how to get one. */
export class NoAdapterError extends Error {
  override readonly name = 'NoAdapterError';
}
