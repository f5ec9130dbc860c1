// Qwen3 generation benchmark on a checkpoint directory (default: a Qwen3-0.6B-shaped synthetic one written to a temp
// dir): load time, prefill tok/s, decode tok/s through generate() and the weight bandwidth that implies. With
// --torch <file> (from tools/bench/qwen3_torch.py on the same directory) it also checks that our greedy ids equal HF
// float32's and prints the ratio to HF transformers' own generation loop. With --profile it prints where a decode
// step's time goes (see profile.ts); with --long N it also decodes with N positions already in the cache. With
// --prefill 512,2048 it times prompts of those lengths to the first token (TTFT, median of 5) on the prefill GEMM
// chosen by --gemm (auto: tensor cores where offered, which --tensor-cores asks Dawn for; fma; tiled: the old kernel)
// and, on tensor cores, --tc-variant (auto: f16w where W as f16 fits matmul's cap, presplit elsewhere; presplit; f16w);
// --max-rows N sets the prompt chunk (default the model's: 2,048 rows), --submits N the command buffers a chunk goes
// out in (default 16), --prompt-recordings N the recorded prompt shapes kept (default 4; 0: every chunk encoded
// afresh); --cpu-profile FILE writes a CPU profile of the host during the timed prefill prompts and prints
// its heaviest functions; --cpu-profile-decode FILE the same for the timed decode run.
//   node tools/bundle.mjs packages/qwen3/bench/generate.bench.ts .device/bench && node .device/bench/generate.bench.mjs [--dir D] [--profile]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createGpuContext, measureCopyBandwidth } from '@qwen3-webgpu/tensor';
import { loadQwen3Weights, QWEN3_0_6B_CONFIG } from '@qwen3-webgpu/weights';
import { writeSyntheticCheckpoint } from '@qwen3-webgpu/weights/node';
import { generate, Qwen3ForCausalLM, type GenerateOptions } from '../src/index.ts';
import { startCpuProfile } from './cpu-profile.ts';
import { describeDecodeTrace, describeTrace, traceQueue } from './queue-trace.ts';
import { printPrefillProfile, printProfile } from './profile.ts';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    dir: { type: 'string' },
    tokens: { type: 'string', default: '256' },
    'prompt-len': { type: 'string', default: '32' },
    torch: { type: 'string' },
    profile: { type: 'boolean', default: false },
    long: { type: 'string' },
    'run-ahead': { type: 'string', default: '3' },
    layout: { type: 'string', default: 'auto' },
    'max-context': { type: 'string', default: '2048' },
    prefill: { type: 'string' },
    gemm: { type: 'string', default: 'auto' },
    'tc-variant': { type: 'string', default: 'auto' },
    'tensor-cores': { type: 'boolean', default: false },
    'profile-prefill': { type: 'string' },
    'max-rows': { type: 'string' },
    submits: { type: 'string' },
    'prompt-recordings': { type: 'string' },
    // A CPU profile (.cpuprofile, Chrome DevTools format) of the host while it runs the timed prefill prompts only.
    'cpu-profile': { type: 'string' },
    // The same for the timed decode run (generate() with run-ahead).
    'cpu-profile-decode': { type: 'string' },
    // Keep the weights as loaded (GpuModelOptions.storeWeightsAsF16 false): the tensor-core GEMM converts W per call.
    'no-store-f16': { type: 'boolean', default: false },
    // A traced decode after the timed runs: host submit intervals against the GPU's pass times and idle gaps.
    'trace-decode': { type: 'boolean', default: false },
    // Extra Dawn toggles (comma-separated), e.g. skip_validation,disable_robustness.
    'dawn-features': { type: 'string' },
  },
});
let dir = values.dir;
if (!dir) {
  dir = mkdtempSync(join(tmpdir(), 'qwen3-bench-'));
  await writeSyntheticCheckpoint(dir, { config: { ...QWEN3_0_6B_CONFIG }, seed: 1 });
}
const promptLen = Number(values['prompt-len']);
const tokens = Number(values.tokens);
const runAhead = Number(values['run-ahead']);
// Unquantized timestamps: Dawn rounds them otherwise, which makes per-dispatch times meaningless.
const gemm = values.gemm as 'auto' | 'fma' | 'tiled';
if (!['auto', 'fma', 'tiled'].includes(gemm)) throw new Error(`--gemm must be auto, fma or tiled, got ${gemm}`);
const tcVariant = values['tc-variant'] as 'auto' | 'presplit' | 'f16w';
if (!['auto', 'presplit', 'f16w'].includes(tcVariant)) throw new Error(`--tc-variant must be auto, presplit or f16w, got ${tcVariant}`);
// --max-rows: the prefill chunk (GpuModelOptions.maxRows; default the model's own).
const maxRows = values['max-rows'] === undefined ? undefined : Number(values['max-rows']);
if (maxRows !== undefined && !(Number.isSafeInteger(maxRows) && maxRows > 0))
  throw new Error(`--max-rows must be a positive integer, got ${values['max-rows']}`);
// --prompt-recordings: recorded prompt shapes kept (GpuModelOptions.promptRecordings; 0 encodes every chunk afresh).
const promptRecordings = values['prompt-recordings'] === undefined ? undefined : Number(values['prompt-recordings']);
if (promptRecordings !== undefined && !(Number.isSafeInteger(promptRecordings) && promptRecordings >= 0))
  throw new Error(`--prompt-recordings must be a non-negative integer, got ${values['prompt-recordings']}`);
// --submits: command buffers a prompt chunk goes out in (GpuModelOptions.prefillSubmits).
const submits = values.submits === undefined ? undefined : Number(values.submits);
if (submits !== undefined && !(Number.isSafeInteger(submits) && submits > 0)) throw new Error(`--submits must be a positive integer, got ${values.submits}`);
const ctx = await createGpuContext({
  dawnFlags: ['disable-dawn-features=timestamp_quantization', ...(values['dawn-features'] ? [`enable-dawn-features=${values['dawn-features']}`] : [])],
  kernelLayout: values.layout as 'auto' | 'gpu' | 'cpu',
  tensorCores: values['tensor-cores'],
});
console.log(`adapter: ${ctx.describe()}`);
const copy = await measureCopyBandwidth(ctx);
let t = performance.now();
const weights = await loadQwen3Weights(ctx, dir);
const loadS = (performance.now() - t) / 1000;
const vocab = weights.config.vocabSize;
const promptOf = (n: number) => Array.from({ length: n }, (_, i) => (i * 7919 + 13) % vocab);
const prompt = promptOf(promptLen);

async function run(lm: Qwen3ForCausalLM, ids: number[], options: GenerateOptions) {
  const out: number[] = [];
  const it = generate(lm, ids, { temperature: 0, ...options });
  let r = await it.next();
  while (!r.done) {
    out.push(r.value);
    r = await it.next();
  }
  return { ids: out, stats: r.value };
}

/** This process's GPU memory in MiB as nvidia-smi reports it (undefined where there is no nvidia-smi). */
function gpuMemoryMiB(): number | undefined {
  try {
    const rows = execFileSync('nvidia-smi', ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'], { encoding: 'utf8' });
    const mine = rows
      .split('\n')
      .map((l) => l.split(',').map((s) => s.trim()))
      .find(([pid]) => Number(pid) === process.pid);
    return mine ? Number(mine[1]) : undefined;
  } catch {
    return undefined;
  }
}

const maxContext = Number(values['max-context']);
const storeWeightsAsF16 = !values['no-store-f16'];
const lm = new Qwen3ForCausalLM(ctx, weights, { maxContext, gemm, tcVariant, storeWeightsAsF16 });
await run(lm, prompt, { maxTokens: 8 }); // warm-up: pipelines compiled, the step recorded, clocks up
const memory = gpuMemoryMiB();
const decodeProfile = values['cpu-profile-decode'] ? await startCpuProfile() : undefined;
const { ids, stats } = await run(lm, prompt, { maxTokens: tokens, runAhead });
const decodeProfileSummary = decodeProfile ? await decodeProfile.stop(values['cpu-profile-decode']!) : undefined;
const stepwise = await run(lm, prompt, { maxTokens: tokens, runAhead: 1 });
// Bytes of weights one decode step reads: everything but the embedding (one row is gathered), plus lm_head (the
// embedding itself when tied).
const embedBytes = weights.embedTokens.tensor.byteLength;
const weightBytes = weights.checkpoint.totalBytes - embedBytes + weights.lmHead.tensor.byteLength * (weights.lmHead === weights.embedTokens ? 1 : 0);
const rate = (tokS: number) => {
  const ms = 1000 / tokS;
  return `${tokS.toFixed(1)} tok/s, ${ms.toFixed(3)} ms/token, ${(weightBytes / (ms * 1e6)).toFixed(0)} GB/s of weights (${((100 * weightBytes) / (ms * 1e6) / copy.gbps).toFixed(1)} % of copy)`;
};
console.log(
  `\nQwen3 ${(weights.checkpoint.totalBytes / 1e9).toFixed(2)} GB ${weights.embedTokens.tensor.dtype} on ${ctx.info.description || ctx.info.device}; copy ${copy.gbps.toFixed(0)} GB/s`,
);
console.log(`load ${loadS.toFixed(2)} s; prefill ${promptLen} tokens: ${stats.prefillMs.toFixed(1)} ms (${stats.prefillTokensPerSecond.toFixed(0)} tok/s)`);
console.log(`decode ${stats.generatedTokens} tokens, run-ahead ${runAhead}: ${rate(stats.decodeTokensPerSecond)}`);
console.log(`decode ${stepwise.stats.generatedTokens} tokens, step by step: ${rate(stepwise.stats.decodeTokensPerSecond)}`);
console.log(`run-ahead ids ${stepwise.ids.join() === ids.join() ? 'identical to' : 'DIFFER from'} step-by-step ids`);
if (memory !== undefined) console.log(`GPU memory of this process with a ${maxContext}-position cache (nvidia-smi): ${memory} MiB`);
let failed = stepwise.ids.join() !== ids.join();
if (values.torch) {
  const torch = JSON.parse(readFileSync(values.torch, 'utf8')) as {
    greedy_ids_f32: number[];
    decode_tok_s: number;
    prefill_ms: number;
    dtype: string;
    device: string;
  };
  const n = Math.min(torch.greedy_ids_f32.length, ids.length);
  const same = ids.slice(0, n).every((id, i) => id === torch.greedy_ids_f32[i]);
  failed ||= !same;
  console.log(
    `HF float32 greedy ids (first ${n}): ${same ? 'identical' : `DIFFER\n  ours ${ids.slice(0, n).join(' ')}\n  HF   ${torch.greedy_ids_f32.slice(0, n).join(' ')}`}`,
  );
  console.log(
    `HF transformers generate() on ${torch.device} (${torch.dtype}): decode ${torch.decode_tok_s.toFixed(1)} tok/s → ours ×${(stats.decodeTokensPerSecond / torch.decode_tok_s).toFixed(2)}`,
  );
}
if (decodeProfileSummary) console.log(decodeProfileSummary);
if (values['trace-decode']) {
  // ≤ 250 steps: the tracer times 256 passes, the prompt's among them.
  const traced = Math.min(tokens, 240);
  for (let i = 0; i < 2; i++) {
    let rate = 0;
    const trace = await traceQueue(ctx, async () => {
      rate = (await run(lm, prompt, { maxTokens: traced, runAhead })).stats.decodeTokensPerSecond;
    });
    // The first id comes from the prompt's pass; each later one from a decode step at positions promptLen, promptLen + 1, …
    console.log(`traced decode (${rate.toFixed(1)} tok/s): ${describeDecodeTrace(trace, traced - 1, promptLen)}`);
  }
}
if (values.profile) await printProfile(ctx, lm, prompt, copy.gbps);
lm.destroy();

if (values.prefill) {
  const lengths = values.prefill.split(',').map(Number);
  const prefillLm = new Qwen3ForCausalLM(ctx, weights, {
    maxContext: Math.max(...lengths) + 8,
    gemm,
    tcVariant,
    storeWeightsAsF16,
    ...(maxRows ? { maxRows } : {}),
    ...(submits ? { prefillSubmits: submits } : {}),
    ...(promptRecordings !== undefined ? { promptRecordings } : {}),
  });
  // FLOPs of a prompt token: 2 per weight of every projection (lm_head runs on the last row only).
  const c = weights.config;
  const perLayer =
    c.hiddenSize * ((c.numAttentionHeads + 2 * c.numKeyValueHeads) * c.headDim) +
    c.numAttentionHeads * c.headDim * c.hiddenSize +
    3 * c.hiddenSize * c.intermediateSize;
  const flopsPerToken = 2 * perLayer * c.numHiddenLayers;
  const linears = prefillLm.model.layers.flatMap((l) => [l.attention.qkvProj, l.attention.oProj, l.mlp.gateUp, l.mlp.down]);
  const paths = [...new Set(linears.map((p) => `${p.gemmPath}${p.tcVariant ? ` ${p.tcVariant}` : ''}`))].join('/');
  console.log(
    `\nprefill GEMM: --gemm ${gemm} --tc-variant ${tcVariant} → ${paths} (${ctx.features.subgroupMatrix ? 'subgroup matrices offered' : 'no subgroup matrices'}), chunks of ${prefillLm.maxRows} rows, ${submits ?? 'default'} submits, ` +
      `${promptRecordings ?? 'default'} prompt recordings`,
  );
  await run(prefillLm, promptOf(Math.min(...lengths)), { maxTokens: 1 }); // pipelines compiled, weights checked
  // The decode model above stored the shared weights already; this one takes the f16 views of the same bytes.
  console.log(
    `projection weights stored as f16 · 2^s fragments: ${prefillLm.model.storedWeights} of ${weights.layers.length * 7}${storeWeightsAsF16 ? '' : ' (--no-store-f16)'}`,
  );
  const profiling = values['cpu-profile'] ? await startCpuProfile() : undefined;
  for (const n of lengths) {
    const times: number[] = [];
    // Which runs went out as a replayed recording (R), were recorded (r: a length's second time) or encoded afresh (E).
    const how: string[] = [];
    for (let i = 0; i < 5; i++) {
      const [replays, recorded] = [prefillLm.promptReplays, prefillLm.promptsRecorded];
      times.push((await run(prefillLm, promptOf(n), { maxTokens: 1 })).stats.prefillMs);
      how.push(prefillLm.promptReplays > replays ? 'R' : prefillLm.promptsRecorded > recorded ? 'r' : 'E');
    }
    const sorted = [...times].sort((a, b) => a - b);
    const ms = sorted[2]!;
    console.log(
      `prefill ${n} tokens to the first token: median ${ms.toFixed(1)} ms (min ${sorted[0]!.toFixed(1)}) = ${((n / ms) * 1000).toFixed(0)} tok/s, ` +
        `${((flopsPerToken * n) / (ms * 1e9)).toPrecision(3)} TFLOP/s of projections (runs: ${times.map((t, i) => `${t.toFixed(1)}${how[i]}`).join(', ')}; ` +
        `R replayed, r recorded, E encoded)`,
    );
    // Then traced runs (not in the figure above): host submits and the GPU's passes.
    for (let i = 0; i < 3; i++) {
      let ttft = 0;
      const trace = await traceQueue(ctx, async () => {
        ttft = (await run(prefillLm, promptOf(n), { maxTokens: 1 })).stats.prefillMs;
      });
      console.log(`  traced run: ${ttft.toFixed(1)} ms to the first token; ${describeTrace(trace)}`);
    }
  }
  if (profiling) console.log(await profiling.stop(values['cpu-profile']!));
  if (values['profile-prefill']) await printPrefillProfile(prefillLm, promptOf(Number(values['profile-prefill'])), copy.gbps);
  prefillLm.destroy();
}

if (values.long) {
  const cached = Number(values.long);
  const longLm = new Qwen3ForCausalLM(ctx, weights, { maxContext: cached + tokens + 64, storeWeightsAsF16 });
  const longPrompt = promptOf(cached);
  await run(longLm, promptOf(16), { maxTokens: 4 });
  const r = await run(longLm, longPrompt, { maxTokens: tokens, runAhead });
  console.log(
    `\nlong context: prefill ${cached} tokens ${r.stats.prefillMs.toFixed(0)} ms; decode ${r.stats.generatedTokens} tokens after ${cached} cached: ` +
      `${r.stats.decodeTokensPerSecond.toFixed(1)} tok/s = ${((100 * r.stats.decodeTokensPerSecond) / stats.decodeTokensPerSecond).toFixed(0)} % of the short-context rate`,
  );
  if (values.profile) await printProfile(ctx, longLm, undefined, copy.gbps);
  longLm.destroy();
}
weights.destroy();
ctx.destroy();
if (failed) process.exitCode = 1;
