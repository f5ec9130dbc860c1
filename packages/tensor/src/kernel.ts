import type { GpuContext } from './context.ts';
import { dispatchGrid } from './dispatch.ts';
import { DispatchList, type DispatchMeta, type UniformPatch } from './dispatch-list.ts';
import { PipelineCache } from './pipeline-cache.ts';
import { bindingKey, Tensor } from './tensor.ts';
import type { UniformLayout } from './uniforms.ts';

/** Storage access of a binding, as written in the WGSL `var<storage, …>` declaration. */
export type BindingAccess = 'read' | 'read_write';

/** A tensor or a raw buffer range bound to one storage binding. */
export type Bindable = Tensor | GPUBufferBinding;

export interface KernelSpec<B extends string, U extends string> {
  label: string;
  /** WGSL source. Storage bindings are @group(0) @binding(0…n-1) in the order of `bindings`; the uniform struct is @binding(n). */
  code: string;
  entryPoint?: string;
  bindings: Readonly<Record<B, BindingAccess>>;
  uniforms: UniformLayout<U>;
}

export interface Kernel<B extends string, U extends string> {
  readonly spec: KernelSpec<B, U>;
  /**
   * The pipeline for these override constants: compiled on first use per device; later calls with the same
   * constants return the same CompiledKernel (one Map lookup), so its bind-group cache persists.
   */
  compile(ctx: GpuContext, constants?: Readonly<Record<string, number>>): CompiledKernel<B, U>;
}

/** Where a dispatch goes: a pass (immediate; uniforms through the context's arena) or a list that replays. */
export type DispatchTarget = GPUComputePassEncoder | DispatchList;

export interface CompiledKernel<B extends string, U extends string> {
  readonly label: string;
  /**
   * Records one dispatch. Into a pass: the uniforms go to a slot of the context's arena (uploaded at submit), the
   * bind group is cached per set of buffer ranges. Into a DispatchList: the dispatch is kept for replay and the
   * returned patch changes its uniforms later (a pass returns a patch that refuses). `workgroups` as a count is
   * spread over a 2-D grid past the per-dimension limit (the shader must linearize `wid.x + wid.y * nwg.x` and
   * ignore the tail).
   */
  encode(
    target: DispatchTarget,
    bindings: Readonly<Record<B, Bindable>>,
    params: Readonly<Record<U, number>>,
    workgroups: number | readonly [number, number, number],
    meta?: DispatchMeta,
  ): UniformPatch<U>;
}

const BINDING_RE = /@group\(0\)\s*@binding\((\d+)\)\s*var<\s*(storage|uniform)\s*(?:,\s*(read|read_write)\s*)?>\s*(\w+)\s*:\s*(\w+)/g;

/** Checks that the WGSL declares exactly the bindings and uniform fields the TypeScript side packs. */
function checkShaderAgainstSpec(spec: KernelSpec<string, string>): void {
  const names = Object.keys(spec.bindings);
  const found = [...spec.code.matchAll(BINDING_RE)];
  const fail = (msg: string): never => {
    throw new Error(`kernel ${spec.label}: WGSL and TypeScript disagree: ${msg}`);
  };
  if (found.length !== names.length + 1) fail(`WGSL declares ${found.length} bindings, the spec ${names.length} storage + 1 uniform`);
  for (const m of found) {
    const index = Number(m[1]);
    if (index < names.length) {
      const name = names[index]!;
      if (m[2] !== 'storage' || m[4] !== name || (m[3] ?? 'read') !== spec.bindings[name]) {
        fail(`@binding(${index}) is '${m[4]}' (${m[2]}, ${m[3] ?? 'read'}), expected '${name}' (storage, ${spec.bindings[name]})`);
      }
    } else if (index === names.length) {
      if (m[2] !== 'uniform') fail(`@binding(${index}) must be the uniform block`);
      const struct = new RegExp(`struct\\s+${m[5]}\\s*\\{([^}]*)\\}`).exec(spec.code);
      if (!struct) fail(`struct ${m[5]} not found`);
      const fields = [...struct![1]!.matchAll(/(\w+)\s*:\s*(\w+)/g)].map((f) => `${f[1]}: ${f[2]}`);
      const expected = spec.uniforms.fields.map((f) => `${f.name}: ${f.type}`);
      if (fields.join(', ') !== expected.join(', ')) fail(`struct ${m[5]} is {${fields.join(', ')}}, expected {${expected.join(', ')}}`);
    } else {
      fail(`unexpected @binding(${index})`);
    }
  }
}

const BIND_GROUP_CACHE_LIMIT = 512;
let nextKernelId = 1;

const immediate: UniformPatch<never> = {
  set() {
    throw new Error('uniforms of a dispatch encoded into a pass cannot change; record it into a DispatchList');
  },
};
/** The patch of a recorded dispatch with no workgroups (nothing was recorded, nothing to change). */
const nothing: UniformPatch<never> = { set() {} };

export function defineKernel<B extends string, U extends string>(spec: KernelSpec<B, U>): Kernel<B, U> {
  checkShaderAgainstSpec(spec as KernelSpec<string, string>);
  const names = Object.keys(spec.bindings) as B[];
  const id = nextKernelId++;
  return {
    spec,
    compile(ctx, constants = {}) {
      return ctx.pipelines.memo(`kernel ${id}\u0000${PipelineCache.constantsKey(constants)}`, () => build(ctx, constants));
    },
  };

  function build(ctx: GpuContext, constants: Readonly<Record<string, number>>): CompiledKernel<B, U> {
    // Built here, not at definition: GPU* globals exist only once a context has been created (Node).
    const entries: GPUBindGroupLayoutEntry[] = names.map((name, binding) => ({
      binding,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: spec.bindings[name] === 'read' ? 'read-only-storage' : 'storage' },
    }));
    entries.push({
      binding: names.length,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: spec.uniforms.byteSize },
    });
    const { pipeline, layout } = ctx.pipelines.get(id, spec.label, spec.code, entries, spec.entryPoint ?? 'main', constants);
    // Recorded dispatches bind their own uniform slot without a dynamic offset: setBindGroup(0, group) per replayed
    // dispatch, no offsets array to convert on every call. Same shader, its own pipeline layout.
    const recorded = () => {
      const fixed = entries.map((e) => (e.buffer?.type === 'uniform' ? { ...e, buffer: { ...e.buffer, hasDynamicOffset: false } } : e));
      return ctx.pipelines.get(id, spec.label, spec.code, fixed, spec.entryPoint ?? 'main', constants, 'recorded');
    };
    const groups = new Map<string, GPUBindGroup>();
    const maxPerDim = ctx.maxWorkgroupsPerDimension;
    return {
      label: spec.label,
      encode(target, bindings, params, workgroups, meta) {
        // Once per dispatch of every step: a plain loop, one key string, no intermediate arrays.
        const resolved: GPUBufferBinding[] = new Array(names.length);
        let key = '';
        for (let i = 0; i < names.length; i++) {
          const b = bindings[names[i]!];
          if (!b) throw new TypeError(`kernel ${spec.label}: binding '${names[i]}' is missing`);
          if (b instanceof Tensor) {
            resolved[i] = b.binding();
            key += b.bindingKey;
          } else {
            resolved[i] = b;
            key += bindingKey(b.buffer, b.offset ?? 0, b.size ?? -1);
          }
        }
        const [x, y, z] = typeof workgroups === 'number' ? dispatchGrid(workgroups, maxPerDim) : workgroups;
        if (x === 0 || y === 0 || z === 0) {
          spec.uniforms.pack(params); // the values are checked even when nothing runs
          return target instanceof DispatchList ? nothing : immediate;
        }
        if (target instanceof DispatchList) {
          const tag = meta?.tag ?? spec.label;
          const r = target.kernelPipelines ? { pipeline, layout } : recorded();
          return target.add({
            dynamic: target.kernelPipelines,
            pipeline: r.pipeline,
            layout: r.layout,
            resources: resolved,
            uniforms: spec.uniforms,
            params: spec.uniforms.pack(params),
            workgroups: [x, y, z],
            meta: { tag, bytes: meta?.bytes ?? 0 },
          });
        }
        let group = groups.get(key);
        if (!group) {
          if (groups.size >= BIND_GROUP_CACHE_LIMIT) groups.clear();
          group = ctx.device.createBindGroup({
            label: spec.label,
            layout,
            entries: [
              ...resolved.map((resource, binding) => ({ binding, resource })),
              { binding: names.length, resource: { buffer: ctx.uniforms.buffer, size: spec.uniforms.byteSize } },
            ],
          });
          groups.set(key, group);
        }
        const offset = ctx.uniforms.pushFields(spec.uniforms, params);
        target.setPipeline(pipeline);
        target.setBindGroup(0, group, [offset]);
        target.dispatchWorkgroups(x, y, z);
        return immediate;
      },
    };
  }
}
