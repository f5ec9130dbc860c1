// Flash-attention prefill (kernels/attention-flash.ts) against the model's current tiled prefill kernel
// (createAttention's tiled prefill), Qwen3-0.6B heads (16 query / 8 kv, head_dim 128), prompts of 512 and 2048 tokens at position 0.
// Checks first: flash vs float64 on sampled rows, and flash vs the current kernel on every row; then GPU times.
// Bundle and run (repository root; ../shared/device/README.md):
//   node tools/bundle.mjs packages/qwen3/bench/attention-flash.device.ts .device/attention
//   source .device/prelude.sh && qnode .device/attention/attention-flash.device.mjs [--seq 512,2048]
import { parseArgs } from 'node:util';
import { createGpuContext, createRng, createTensor, readFloat, reference, timeGpu, uploadTensor } from '@qwen3-webgpu/tensor';
import { createFlashAttention } from '../src/kernels/attention-flash.ts';
import { createAttention } from '../src/kernels/index.ts';

const { values } = parseArgs({ args: process.argv.slice(2).filter((a) => a !== '--'), options: { seq: { type: 'string', default: '512,2048' } } });
const [nh, nkv, hd] = [16, 8, 128];
const ctx = await createGpuContext({ dawnFlags: ['disable-dawn-features=timestamp_quantization'] });
console.log(`adapter: ${ctx.describe()}`);
const rng = createRng(99);
const flash = createFlashAttention(ctx, { numHeads: nh, numKvHeads: nkv, headDim: hd });
let failed = false;
const rows: string[] = [];
for (const seq of values.seq.split(',').map(Number)) {
  const capacity = seq;
  const q = rng.normalArray(seq * nh * hd);
  const k = rng.normalArray(nkv * capacity * hd);
  const v = rng.normalArray(nkv * capacity * hd);
  const [qt, kt, vt] = [
    uploadTensor(ctx, [seq, nh, hd], 'f32', q),
    uploadTensor(ctx, [nkv, capacity, hd], 'f32', k),
    uploadTensor(ctx, [nkv, capacity, hd], 'f32', v),
  ];
  const [outFlash, outTiled] = [createTensor(ctx, [seq, nh * hd], 'f32'), createTensor(ctx, [seq, nh * hd], 'f32')];
  const runFlash = (pass: GPUComputePassEncoder) => flash.encode(pass, { q: qt, kCache: kt, vCache: vt, out: outFlash, seq, pos0: 0 });
  const tiled = createAttention(ctx, { numHeads: nh, numKvHeads: nkv, headDim: hd, capacity });
  const runTiled = (pass: GPUComputePassEncoder) => void tiled.encode(pass, { q: qt, kCache: kt, vCache: vt, out: outTiled, seq, pos0: 0, tiled: true });
  await ctx.run(runFlash);
  await ctx.run(runTiled);
  const [gotFlash, gotTiled] = [await readFloat(outFlash), await readFloat(outTiled)];
  // float64 on sampled rows (first, last and a spread between), every head.
  let worst = 0;
  for (const t of [...new Set([0, 1, 63, 64, 65, Math.floor(seq / 2), seq - 2, seq - 1])].filter((t) => t >= 0 && t < seq)) {
    for (let h = 0; h < nh; h++) {
      const g = Math.floor(h / (nh / nkv));
      const s = new Float64Array(t + 1);
      for (let j = 0; j <= t; j++) {
        let d = 0;
        for (let i = 0; i < hd; i++) d += q[(t * nh + h) * hd + i]! * k[(g * capacity + j) * hd + i]!;
        s[j] = d / Math.sqrt(hd);
      }
      const p = reference.softmax(s, 1, t + 1);
      for (let i = 0; i < hd; i++) {
        let o = 0;
        for (let j = 0; j <= t; j++) o += p[j]! * v[(g * capacity + j) * hd + i]!;
        worst = Math.max(worst, Math.abs(gotFlash[(t * nh + h) * hd + i]! - o));
      }
    }
  }
  const vsTiled = reference.relativeL2(gotFlash, gotTiled);
  const ok = worst <= 1e-5 && vsTiled <= 1e-5 && gotFlash.every(Number.isFinite);
  failed ||= !ok;
  const tFlash = await timeGpu(ctx, runFlash, { repeats: 10, trials: 9, warmupMs: 100 });
  const tTiled = await timeGpu(ctx, runTiled, { repeats: 10, trials: 9, warmupMs: 100 });
  // Causal attention FLOPs: 2 products (QKᵀ, PV) × 2 FLOPs × hd × nh × seq(seq+1)/2.
  const flops = (4 * hd * nh * (seq * (seq + 1))) / 2;
  rows.push(
    `${String(seq).padStart(5)} ${tTiled.ms.toFixed(3).padStart(9)} ${tFlash.ms.toFixed(3).padStart(9)} ${(tTiled.ms / tFlash.ms).toFixed(2).padStart(7)} ` +
      `${(flops / (tFlash.ms * 1e9)).toFixed(2).padStart(8)}  ${ok ? 'ok' : 'FAIL'} (max |err| vs f64 ${worst.toExponential(2)}, relL2 vs tiled ${vsTiled.toExponential(2)})`,
  );
  for (const t of [qt, kt, vt, outFlash, outTiled]) t.destroy();
}
console.log(`\nprefill attention, ${nh}/${nkv} heads, hd ${hd}, pos0 0 (${ctx.info.description || ctx.info.device})`);
console.log('  seq  tiled ms  flash ms  × tiled  flash TFLOP/s  check');
for (const r of rows) console.log(r);
ctx.destroy();
if (failed) {
  console.error('attention-flash device check: a correctness check failed');
  process.exitCode = 1;
}
