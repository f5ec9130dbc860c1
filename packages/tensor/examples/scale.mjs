// y = k · x with a kernel of your own, checked against a plain loop on the CPU.
import { createGpuContext, createTensor, defineKernel, defineUniforms, readFloat, uploadTensor } from '@qwen3-webgpu/tensor';

const code = /* wgsl */ `
struct Params { n: u32, k: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x < params.n) { y[id.x] = params.k * x[id.x]; }
}`;
const scale = defineKernel({ label: 'scale', code, bindings: { x: 'read', y: 'read_write' }, uniforms: defineUniforms({ n: 'u32', k: 'f32' }) });

const n = 1000;
const k = 2.5;
const host = Float32Array.from({ length: n }, (_, i) => Math.sin(i)); // x: [n] f32
const ctx = await createGpuContext();
const x = uploadTensor(ctx, [n], 'f32', host);
const y = createTensor(ctx, [n], 'f32'); // y: [n] f32
await ctx.run((pass) => scale.compile(ctx).encode(pass, { x, y }, { n, k }, Math.ceil(n / 256)));
const gpu = await readFloat(y);
let err = 0;
for (let i = 0; i < n; i++) err = Math.max(err, Math.abs((gpu[i] ?? NaN) - k * (host[i] ?? NaN)));
console.log(`${ctx.describe()}\nscale: max |gpu - cpu| = ${err.toExponential(2)}`);
ctx.destroy();
if (!(err <= 1e-6)) throw new Error('scale: the GPU disagrees with the CPU loop');
