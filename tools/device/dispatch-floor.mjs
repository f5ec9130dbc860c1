// What one dispatch costs the GPU when it comes right after another in the same compute pass, on this stack (Dawn's
// Node bindings + its backend + the driver), apart from any kernel of ours: 28 dispatches (a decode step's count of one
// GEMV kind) of a pure streaming read, each reading its own MiB-sized buffer and writing a few bytes, timed in one pass
// with timestamps (Dawn's timestamp quantization off), median of 12 trials. Three forms of the loop:
//   - every dispatch writes the same small buffer (Dawn puts a barrier before each: write after write);
//   - each writes its own buffer, last written by the previous trial's shaders;
//   - each writes its own buffer, cleared by a copy command just before the pass (only transfer → compute barriers).
// If dispatches could overlap in some form, that form would approach copy speed; on the H200 (Dawn/Vulkan, driver
// 580) none does: ~2.6 µs + bytes at ~4.2 TB/s each (BENCHMARKS.md, twelfth session), the floor under the decode
// GEMVs' isolated loops. Run on the GPU machine:  source .device/prelude.sh && qnode tools/device/dispatch-floor.mjs
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const gpu = create(['disable-dawn-features=timestamp_quantization']);
const adapter = await gpu.requestAdapter();
if (!adapter) throw new Error('dispatch-floor: no WebGPU adapter');
if (!adapter.features.has('timestamp-query')) throw new Error('dispatch-floor: the adapter has no timestamp-query');
const limits = { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize };
const device = await adapter.requestDevice({ requiredFeatures: ['timestamp-query'], requiredLimits: limits });
const DISPATCHES = 28;
const TRIALS = 12;

/** Median µs of the pass that runs `groups` back to back (optionally after `before`, submitted first). */
async function timePass(pipeline, groups, before) {
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
  const resolve = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const samples = [];
  for (let t = 0; t < TRIALS + 3; t++) {
    if (before) {
      const prep = device.createCommandEncoder();
      before(prep);
      device.queue.submit([prep.finish()]);
    }
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
    pass.setPipeline(pipeline);
    for (const g of groups) {
      pass.setBindGroup(0, g);
      pass.dispatchWorkgroups(1024);
    }
    pass.end();
    encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, read, 0, 16);
    device.queue.submit([encoder.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const [begin, end] = new BigUint64Array(read.getMappedRange().slice(0));
    read.unmap();
    if (t >= 3) samples.push(Number(end - begin) / 1e3);
  }
  for (const b of [querySet, resolve, read]) b.destroy();
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

console.log(`${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}: ${DISPATCHES} dispatches back to back in one pass`);
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
  const groups = (outs) =>
    inputs.map((w, i) =>
      device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: w } },
          { binding: 1, resource: { buffer: outs[i] } },
        ],
      }),
    );
  const cell = (us) => `${(us / DISPATCHES).toFixed(2)} µs a dispatch, ${((DISPATCHES * mib * 2 ** 20) / (us * 1e3)).toFixed(0)} GB/s`;
  const a = await timePass(pipeline, groups(inputs.map(() => shared)));
  const b = await timePass(pipeline, groups(own));
  const c = await timePass(pipeline, groups(own), (enc) => own.forEach((o) => enc.clearBuffer(o)));
  console.log(`${mib} | ${cell(a)} | ${cell(b)} | ${cell(c)}`);
  for (const buf of [...inputs, ...own, shared]) buf.destroy();
}
process.exit(0);
