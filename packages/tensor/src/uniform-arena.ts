import type { UniformLayout } from './uniforms.ts';

/**
 * One uniform buffer shared by every dispatch of a pass. Each dispatch takes a slot (aligned to
 * minUniformBufferOffsetAlignment) and binds it through a dynamic offset, so bind groups stay cacheable and a
 * whole model step needs one upload. The host mirror is written to the GPU once, just before the submit.
 */
export class UniformArena {
  readonly buffer: GPUBuffer;
  readonly slotBytes: number;
  readonly capacity: number;
  #mirror: Uint8Array;
  #view: DataView;
  #used = 0;

  constructor(
    private readonly device: GPUDevice,
    slots: number,
  ) {
    this.slotBytes = Math.max(256, device.limits.minUniformBufferOffsetAlignment);
    this.capacity = slots;
    this.#mirror = new Uint8Array(this.slotBytes * slots);
    this.#view = new DataView(this.#mirror.buffer);
    this.buffer = device.createBuffer({
      label: 'uniform arena',
      size: this.#mirror.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }

  /** Copies `data` (≤ slotBytes) into the next slot and returns its byte offset. */
  push(data: ArrayBuffer): number {
    const offset = this.#next(data.byteLength);
    this.#mirror.set(new Uint8Array(data), offset);
    this.#used++;
    return offset;
  }

  /** Packs `values` by `layout` straight into the next slot (UniformLayout.packInto) and returns its byte offset. */
  pushFields<F extends string>(layout: UniformLayout<F>, values: Readonly<Record<F, number>>): number {
    const offset = this.#next(layout.byteSize);
    layout.packInto(this.#view, offset, values); // a refused value throws before the slot is counted
    this.#used++;
    return offset;
  }

  /** The byte offset of the next free slot, checked to hold a block of `bytes`. */
  #next(bytes: number): number {
    if (bytes > this.slotBytes) throw new RangeError(`uniform block of ${bytes} B exceeds a ${this.slotBytes} B slot`);
    if (this.#used >= this.capacity) {
      throw new RangeError(`more than ${this.capacity} dispatches in one submit; raise GpuContextOptions.uniformSlots`);
    }
    return this.#used * this.slotBytes;
  }

  /** Uploads the slots used since the last flush (queued before the submit that follows). */
  flush(): void {
    if (this.#used === 0) return;
    this.device.queue.writeBuffer(this.buffer, 0, this.#mirror, 0, this.#used * this.slotBytes);
    this.#used = 0;
  }

  destroy(): void {
    this.buffer.destroy();
  }
}
