// What one dispatch costs the GPU when it comes right after another in the same compute pass, on this stack (Dawn's
// Node bindings + its backend + the driver), apart from any kernel of ours: 28 dispatches (a decode step's count of one
// GEMV kind) of a pure streaming read, each reading its own buffer and writing a few bytes, timed in one pass (timeGpu,
// Dawn's timestamp quantization off). Three forms of the loop:
//   - every dispatch writes the same small buffer (Dawn puts a barrier before each: write after write);
//   - each writes its own buffer, last written by the previous trial's shaders;
//   - each writes its own buffer, cleared by a copy command just before the pass (only transfer → compute barriers).
// If dispatches could overlap in some form, that form would approach copy speed; on the H200 (Dawn/Vulkan, driver
// 580) none does: ~2.4 µs + the bytes at ~4.2 TB/s each (BENCHMARKS.md, twelfth session), the floor under the decode
// GEMVs' isolated loops.
// Bundled by tools/device/bundle.sh; on the GPU machine:  qnode .device/dispatch-floor/dispatch-floor.mjs
import { createGpuContext, timeGpu } from '@qwen3-webgpu/tensor';

const DISPATCHES = 28;
const ctx = await createGpuContext({ dawnFlags: ['disable-dawn-features=timestamp_quantization'] });
if (!ctx.features.timestampQuery) throw new Error(`dispatch-floor: ${ctx.info.description} has no timestamp-query`);
const { device } = ctx;
console.log(`${ctx.info.description}: ${DISPATCHES} dispatches back to back in one pass`);
console.log('MiB read a dispatch | one output buffer | own outputs, last written by shaders | own outputs, cleared before');
for (const mib of [0.25, 4, 8, 12]) {
  const words = (mib * 2 ** 20) / 16;
  const code = `@group(0) @binding(0) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  var s = vec4<u32>();
  for (var i = gid.x; i < ${words}u; i += nwg.x * 256u) { s ^= w[i]; }
  if (all(s == vec4<u32>(1u, 2u, 3u, 4u))) { y[1u + (gid.x & 1023u)] = s.x; } // never true for zeros: keeps the loads
  if (gid.x == 0u) { y[0] = 1u; }
}`;
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
  const inputs = Array.from({ length: DISPATCHES }, () => device.createBuffer({ size: mib * 2 ** 20, usage: GPUBufferUsage.STORAGE }));
  const output = () => device.createBuffer({ size: 4100, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const shared = output();
  const own = inputs.map(output);
  const loop = (outs: GPUBuffer[]) => {
    const groups = inputs.map((w, i) =>
      device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: w } },
          { binding: 1, resource: { buffer: outs[i]! } },
        ],
      }),
    );
    return (pass: GPUComputePassEncoder) => {
      pass.setPipeline(pipeline);
      for (const g of groups) {
        pass.setBindGroup(0, g);
        pass.dispatchWorkgroups(1024);
      }
    };
  };
  const options = { repeats: 1, trials: 12 };
  const cell = (ms: number) => `${((ms * 1000) / DISPATCHES).toFixed(2)} µs a dispatch, ${((DISPATCHES * mib * 2 ** 20) / (ms * 1e6)).toFixed(0)} GB/s`;
  const a = await timeGpu(ctx, loop(inputs.map(() => shared)), options);
  const b = await timeGpu(ctx, loop(own), options);
  const c = await timeGpu(ctx, loop(own), { ...options, beforeEach: (encoder) => own.forEach((o) => encoder.clearBuffer(o)) });
  console.log(`${mib} | ${cell(a.ms)} | ${cell(b.ms)} | ${cell(c.ms)}`);
  for (const buf of [...inputs, ...own, shared]) buf.destroy();
}
ctx.destroy();
