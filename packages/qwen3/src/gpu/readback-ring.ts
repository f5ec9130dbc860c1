// Small MAP_READ buffers for the ids that steps pick: each step in flight copies its id into a buffer of its own, so
// step t + 1 can be submitted before step t's id is read (run-ahead). Buffers return to the pool once read; the
// pool grows only to the number of steps ever in flight at once.
//
// Pacing (`pace`, for CPU adapters): while any mapAsync is pending, Dawn's Node bindings poll for it with setImmediate,
// so one CPU core spins until it resolves. On a CPU adapter that core is taken from the device itself (lavapipe on 2
// cores: half the main thread's time of a decode went to that loop). Paced reads map one at a time, in order, and
// while steps are queued behind them (run-ahead) first sleep through most of the interval that steps have been taking
// to complete, so the mapping waits only for the end of the step.
/** Paced reads sleep through this fraction of the steps' interval before mapping (the rest is polled for). */
const PACE_FRACTION = 0.85;
/** …and never longer than this at a time (ms). */
const MAX_SLEEP_MS = 50;
/** A mapping that resolves within this after a sleep (ms) means the step had finished during it. */
const OVERSLEPT_MS = 0.3;

export class ReadbackRing {
  readonly #free: GPUBuffer[] = [];
  readonly #all: GPUBuffer[] = [];
  /** Paced reads, in order: each starts when the one before it has settled. */
  #turn: Promise<unknown> = Promise.resolve();
  /** Reads requested and not yet settled. */
  #pending = 0;
  /** When the last paced read settled (ms, performance.now()), and the steps' interval (ms, moving average; 0: none yet). */
  #lastDone = 0;
  #interval = 0;
  /** Whether the last read had steps queued behind it (its completion then starts a measurable interval). */
  #steady = false;

  constructor(
    private readonly device: GPUDevice,
    private readonly bytes = 4,
    private readonly pace = false,
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
  readU32(b: GPUBuffer): Promise<number> {
    if (!this.pace) return this.#map(b);
    this.#pending++;
    const read = this.#turn.then(async () => {
      // Steps queued behind this one: the GPU runs them back to back, one interval apart.
      const queued = this.#pending >= 2;
      const wait = queued && this.#interval > 0 ? PACE_FRACTION * this.#interval - (performance.now() - this.#lastDone) : 0;
      if (wait >= 1) await new Promise((resolve) => setTimeout(resolve, Math.min(wait, MAX_SLEEP_MS)));
      const mapped = performance.now();
      try {
        return await this.#map(b);
      } finally {
        const now = performance.now();
        if (queued && this.#steady) {
          // Mapped at once after a sleep: the step was done before the wake, so the interval is shorter than
          // thought (by how much is unknown); else the mapping resolved at the step's end: a true sample.
          if (wait >= 1 && now - mapped < OVERSLEPT_MS) this.#interval *= 0.8;
          else this.#interval = this.#interval > 0 ? 0.75 * this.#interval + 0.25 * (now - this.#lastDone) : now - this.#lastDone;
        }
        this.#steady = queued;
        this.#lastDone = now;
        this.#pending--;
      }
    });
    this.#turn = read.catch(() => {});
    return read;
  }

  async #map(b: GPUBuffer): Promise<number> {
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
