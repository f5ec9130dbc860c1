// Flash-attention prefill (kernels/attention-flash.ts) with its keys walked whole by each workgroup against the key
// splits (merged by attention-combine.wgsl), Qwen3-0.6B heads (16 query / 8 kv, head_dim 128), prompts given as
// seq@pos0 (default: 512 tokens at 0, the 4th 512-token chunk of a 2,048-token prompt, 2,048 at 0).
// Checks first: every variant vs float64 on sampled rows; then GPU times.
// Bundle and run (repository root; ../shared/device/README.md):
//   node tools/bundle.mjs packages/qwen3/bench/attention-flash.device.ts .device/flash
//   source .device/prelude.sh && qnode .device/flash/attention-flash.device.mjs [--cases 512@0,512@1536]
import { parseArgs } from 'node:util';
import { createGpuContext, createRng, createTensor, readFloat, timeGpu, uploadTensor } from '@qwen3-webgpu/tensor';
import { createFlashAttention, type FlashAttentionOptions } from '../src/kernels/attention-flash.ts';
import { attentionReference } from '../test/attention-reference.ts';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: { cases: { type: 'string', default: '512@0,512@1536,2048@0' } },
});
const [nh, nkv, hd] = [16, 8, 128];
const ctx = await createGpuContext({ dawnFlags: ['disable-dawn-features=timestamp_quantization'] });
console.log(`adapter: ${ctx.describe()}`);
const rng = createRng(99);
const variants: { name: string; split: FlashAttentionOptions['split']; scratch: boolean; dc?: 8 | 16 | 32 }[] = [
  { name: 'unsplit, 8 dims staged', split: undefined, scratch: false, dc: 8 },
  { name: 'unsplit, 16 dims staged', split: undefined, scratch: false, dc: 16 },
  { name: 'unsplit, 32 dims staged', split: undefined, scratch: false, dc: 32 },
  { name: 'split ≤8 × ≥64, 8 dims', split: { maxSplits: 8, minKeys: 64, always: true }, scratch: true, dc: 8 },
  { name: 'split ≤8 × ≥64, 16 dims', split: { maxSplits: 8, minKeys: 64, always: true }, scratch: true, dc: 16 },
  { name: 'split ≤8 × ≥64, 32 dims', split: { maxSplits: 8, minKeys: 64, always: true }, scratch: true, dc: 32 },
  { name: 'split ≤4 × ≥128', split: { maxSplits: 4, minKeys: 128, always: true }, scratch: true },
  { name: 'split ≤16 × ≥64', split: { maxSplits: 16, minKeys: 64, always: true }, scratch: true },
  { name: 'split ≤16 × ≥128', split: { maxSplits: 16, minKeys: 128, always: true }, scratch: true },
  { name: "the model's (defaults, with scratch)", split: undefined, scratch: true },
];
let failed = false;
const rows: string[] = [];
for (const [seq, pos0] of values.cases.split(',').map((c) => c.split('@').map(Number) as [number, number])) {
  const capacity = pos0 + seq;
  const q = rng.normalArray(seq * nh * hd);
  const k = rng.normalArray(nkv * capacity * hd);
  const v = rng.normalArray(nkv * capacity * hd);
  const [qt, kt, vt] = [
    uploadTensor(ctx, [seq, nh, hd], 'f32', q),
    uploadTensor(ctx, [nkv, capacity, hd], 'f32', k),
    uploadTensor(ctx, [nkv, capacity, hd], 'f32', v),
  ];
  const out = createTensor(ctx, [seq, nh * hd], 'f32');
  // float64 on sampled rows (first, last and a spread between), every head.
  const sampled = [...new Set([0, 1, 31, 32, 33, 63, 64, 65, Math.floor(seq / 2), seq - 2, seq - 1])].filter((t) => t >= 0 && t < seq);
  const want = attentionReference(q, k, v, seq, pos0, nh, nkv, hd, capacity, sampled);
  // Causal attention FLOPs: 2 products (QKᵀ, PV) × 2 FLOPs × hd × nh × Σ_t (pos0 + t + 1).
  const flops = 4 * hd * nh * (seq * pos0 + (seq * (seq + 1)) / 2);
  let base = 0;
  for (const variant of variants) {
    let flash;
    try {
      flash = createFlashAttention(ctx, {
        numHeads: nh,
        numKvHeads: nkv,
        headDim: hd,
        ...(variant.split ? { split: variant.split } : {}),
        ...(variant.dc ? { dimsPerStage: variant.dc } : {}),
      });
    } catch (err) {
      rows.push(`${`${seq}@${pos0}`.padStart(9)}  ${variant.name.padEnd(36)} failed: ${(err as Error).message.split('\n')[0]}`);
      continue;
    }
    const scratch = variant.scratch ? createTensor(ctx, [Math.max(1, flash.scratchSize(seq))], 'f32') : undefined;
    const run = (pass: GPUComputePassEncoder) => void flash.encode(pass, { q: qt, kCache: kt, vCache: vt, out, seq, pos0, ...(scratch ? { scratch } : {}) });
    await ctx.run(run);
    const got = await readFloat(out);
    let worst = 0;
    for (const t of sampled) for (let e = t * nh * hd; e < (t + 1) * nh * hd; e++) worst = Math.max(worst, Math.abs(got[e]! - want[e]!));
    const ok = worst <= 1e-5 && got.every(Number.isFinite);
    failed ||= !ok;
    const time = await timeGpu(ctx, run, { repeats: 10, trials: 9, warmupMs: 100 });
    if (!base) base = time.ms;
    rows.push(
      `${`${seq}@${pos0}`.padStart(9)}  ${variant.name.padEnd(36)} ${time.ms.toFixed(3).padStart(8)} ${(base / time.ms).toFixed(2).padStart(6)} ` +
        `${(flops / (time.ms * 1e9)).toFixed(2).padStart(7)}  ${ok ? 'ok' : 'FAIL'} (max |err| vs f64 ${worst.toExponential(2)})`,
    );
    scratch?.destroy();
  }
  for (const t of [qt, kt, vt, out]) t.destroy();
}
console.log(`\nprefill attention per layer, ${nh}/${nkv} heads, hd ${hd} (${ctx.info.description || ctx.info.device})`);
console.log(`seq@pos0   ${'variant'.padEnd(36)}       ms  × first TFLOP/s  check`);
for (const r of rows) console.log(r);
ctx.destroy();
if (failed) {
  console.error('attention-flash device check: a correctness check failed');
  process.exitCode = 1;
}
