// Small MAP_READ buffers for the ids that steps pick: each step in flight copies its id into a buffer of its own, so
// step t + 1 can be submitted before step t's id is read (run-ahead). Buffers return to the pool once read; the
// pool grows only to the number of steps ever in flight at once.
export class ReadbackRing {
  readonly #free: GPUBuffer[] = [];
  readonly #all: GPUBuffer[] = [];

  constructor(
    private readonly device: GPUDevice,
    private readonly bytes = 4,
  ) {}

  /** A buffer to copy into (COPY_DST | MAP_READ), owned by the caller until read() settles. */
  take(): GPUBuffer {
    const free = this.#free.pop();
    if (free) return free;
    const b = this.device.createBuffer({
      label: `step readback ${this.#all.length}`,
      size: this.bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.#all.push(b);
    return b;
  }

  /** Maps `b` once the GPU has written it, returns its first u32, and hands it back to the pool. */
  async readU32(b: GPUBuffer): Promise<number> {
    try {
      await b.mapAsync(GPUMapMode.READ);
      const v = new Uint32Array(b.getMappedRange(0, 4))[0]!;
      b.unmap();
      return v;
    } finally {
      this.#free.push(b);
    }
  }

  destroy(): void {
    for (const b of this.#all) b.destroy();
    this.#all.length = 0;
    this.#free.length = 0;
  }
}
