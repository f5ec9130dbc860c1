// A recorded list of dispatches that replays unchanged every step (gpu.cpp's Kernel, ratchet's compiled-op list,
// onnxruntime-web's capture/replay). Pipelines and bind groups are resolved once; each dispatch owns a uniform slot
// in the list's own buffer, bound at a fixed offset, so a step re-encodes (pipeline, bind group, workgroups) and
// nothing else. What
// changes per step (a position, a random draw) is patched into the host mirror and reaches the GPU in one
// writeBuffer, which the queue orders after the previous step's submit — so steps may be in flight together.
import type { GpuContext } from './context.ts';
import type { UniformLayout } from './uniforms.ts';

/** What a profiler reports about a dispatch: its kind, and the bytes it moves (for GB/s). */
export interface DispatchMeta {
  /** Kernel kind in profiles, e.g. 'linear o_proj'; default the kernel label. */
  tag?: string;
  /** Bytes read + written, or a function of the list's current state (attention grows with the cache). */
  bytes?: number | (() => number);
}

/** A recorded dispatch's uniform block: fields set here reach the GPU with the list's next encode. */
export interface UniformPatch<U extends string> {
  set(field: U, value: number): void;
}

interface Entry {
  /** The uniform slot is bound through a dynamic offset (of 0; the slot's base is in the bind group). */
  dynamic: boolean;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  resources: GPUBufferBinding[];
  uniformBytes: number;
  x: number;
  y: number;
  z: number;
  tag: string;
  bytes: number | (() => number);
  group?: GPUBindGroup;
}

/** Everything a compiled kernel hands the list for one dispatch. */
export interface RecordedDispatchSpec<U extends string> {
  /** Whether `layout` declares the uniform binding with a dynamic offset (DispatchListOptions.kernelPipelines). */
  dynamic: boolean;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  resources: GPUBufferBinding[];
  uniforms: UniformLayout<U>;
  params: ArrayBuffer;
  workgroups: [number, number, number];
  meta: Required<DispatchMeta>;
}

export interface DispatchListOptions {
  /**
   * Record with the pipelines the kernels use when encoding into a pass (their uniform binding takes a dynamic offset,
   * 0 on replay) instead of a variant per kernel whose uniform binding has none. Default false: a replayed dispatch
   * then passes no offsets array (cheaper per call; what decode steps replay hundreds of times), but the first list
   * of each kernel compiles that variant (H200: 50–300 ms for a prompt's ~20 kernels). Lists recorded from work the
   * context has already run in passes (prompt chunks) take true and compile nothing.
   */
  kernelPipelines?: boolean;
}

/** The dynamic offset of a recorded dispatch whose layout has one: the slot's base is in its bind group. */
const ZERO_OFFSET: readonly number[] = Object.freeze([0]);

export class DispatchList {
  readonly #entries: Entry[] = [];
  readonly #slotBytes: number;
  #mirror = new Uint8Array(0);
  #view = new DataView(this.#mirror.buffer);
  #buffer: GPUBuffer | undefined;
  #dirty = true;
  #destroyed = false;

  /** DispatchListOptions.kernelPipelines: CompiledKernel.encode reads it. */
  readonly kernelPipelines: boolean;

  constructor(
    readonly ctx: GpuContext,
    readonly label = 'dispatch list',
    options: DispatchListOptions = {},
  ) {
    this.#slotBytes = Math.max(256, ctx.limits.minUniformBufferOffsetAlignment);
    this.kernelPipelines = options.kernelPipelines ?? false;
  }

  get length(): number {
    return this.#entries.length;
  }

  /** Appends a dispatch (called by CompiledKernel.encode); returns the handle that patches its uniforms. */
  add<U extends string>(d: RecordedDispatchSpec<U>): UniformPatch<U> {
    if (this.#buffer) throw new Error(`${this.label}: cannot add dispatches after the list was first encoded`);
    const slot = this.#entries.length;
    const [x, y, z] = d.workgroups;
    this.#entries.push({ ...d, uniformBytes: d.uniforms.byteSize, x, y, z, tag: d.meta.tag, bytes: d.meta.bytes });
    const grown = new Uint8Array((slot + 1) * this.#slotBytes);
    grown.set(this.#mirror);
    grown.set(new Uint8Array(d.params), slot * this.#slotBytes);
    this.#mirror = grown;
    this.#view = new DataView(grown.buffer);
    const base = slot * this.#slotBytes;
    const fields = d.uniforms.fields;
    const index = new Map(fields.map((f, i) => [f.name as string, i]));
    return {
      set: (field, value) => {
        const i = index.get(field);
        if (i === undefined) throw new TypeError(`${this.label}: no uniform field '${field}'`);
        const type = fields[i]!.type;
        if (type === 'f32') this.#view.setFloat32(base + 4 * i, value, true);
        else if (!Number.isInteger(value)) throw new RangeError(`uniform '${field}' must be a ${type}, got ${value}`);
        else if (type === 'u32') this.#view.setUint32(base + 4 * i, value, true);
        else this.#view.setInt32(base + 4 * i, value, true);
        this.#dirty = true;
      },
    };
  }

  /** Creates the uniform buffer and one bind group per dispatch (its uniform slot bound at a fixed offset). */
  #seal(): void {
    if (this.#destroyed) throw new Error(`${this.label} used after destroy()`);
    const { device } = this.ctx;
    const size = Math.max(this.#slotBytes, this.#mirror.byteLength);
    const buffer = (this.#buffer = device.createBuffer({ label: `${this.label} uniforms`, size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }));
    this.#entries.forEach((e, slot) => {
      e.group = device.createBindGroup({
        label: e.tag,
        layout: e.layout,
        entries: [
          ...e.resources.map((resource, binding) => ({ binding, resource })),
          { binding: e.resources.length, resource: { buffer, offset: slot * this.#slotBytes, size: e.uniformBytes } },
        ],
      });
    });
  }

  /** Uploads patched uniforms (one writeBuffer) if anything changed since the last encode. */
  #upload(): void {
    if (!this.#buffer) this.#seal();
    if (!this.#dirty) return;
    if (this.#mirror.byteLength > 0) this.ctx.device.queue.writeBuffer(this.#buffer!, 0, this.#mirror);
    this.#dirty = false;
  }

  /** Creates the uniform buffer and the bind groups now (else the first encode does); nothing can be added after. */
  prepare(): void {
    if (!this.#buffer) this.#seal();
  }

  /** Records every dispatch into `pass`, in order. */
  encode(pass: GPUComputePassEncoder): void {
    this.#upload();
    replay(pass, this.#entries);
  }

  /**
   * Records each dispatch in a compute pass of its own with timestamps before and after (query 2i, 2i + 1 of
   * `querySet`, which needs 2 × length queries): the profiler's view of where a step's GPU time goes.
   */
  encodeProfiled(encoder: GPUCommandEncoder, querySet: GPUQuerySet): void {
    this.#upload();
    this.#entries.forEach((e, i) => {
      const pass = encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
      replay(pass, [e]);
      pass.end();
    });
  }

  /**
   * The dispatches whose tag passes `keep`, as a list view sharing this list's pipelines, bind groups and uniforms
   * (benchmarks time one kind of kernel exactly as a step runs it).
   */
  select(keep: (tag: string) => boolean): { length: number; encode(pass: GPUComputePassEncoder): void; describe(): { tag: string; bytes: number }[] } {
    this.#upload();
    const picked = this.#entries.filter((e) => keep(e.tag));
    return {
      length: picked.length,
      encode: (pass) => {
        this.#upload();
        replay(pass, picked);
      },
      describe: () => describeEntries(picked),
    };
  }

  /** Kind and bytes moved of each dispatch, in order (bytes evaluated now). */
  describe(): { tag: string; bytes: number }[] {
    return describeEntries(this.#entries);
  }

  destroy(): void {
    this.#destroyed = true;
    this.#buffer?.destroy();
    this.#buffer = undefined;
  }
}

/**
 * Encodes sealed entries into a pass. Every call here crosses into Dawn (~1.5–2 µs each through the Node
 * bindings): no call or argument more than needed.
 */
function replay(pass: GPUComputePassEncoder, entries: readonly Entry[]): void {
  let last: GPUComputePipeline | undefined;
  for (const e of entries) {
    if (e.pipeline !== last) pass.setPipeline((last = e.pipeline));
    if (e.dynamic) pass.setBindGroup(0, e.group!, ZERO_OFFSET as number[]);
    else pass.setBindGroup(0, e.group!);
    if (e.y === 1 && e.z === 1) pass.dispatchWorkgroups(e.x);
    else pass.dispatchWorkgroups(e.x, e.y, e.z);
  }
}

function describeEntries(entries: readonly Entry[]): { tag: string; bytes: number }[] {
  return entries.map((e) => ({ tag: e.tag, bytes: typeof e.bytes === 'function' ? e.bytes() : e.bytes }));
}
