// The decode profiler: per step, host time to encode the recorded step and GPU time (pass timestamps); per kernel
// kind, each dispatch timed in a pass of its own (dispatches per token, µs per token, bytes, GB/s, % of copy); and
// each decode GEMV kind timed in isolation, all its dispatches of a step back to back in one pass, as a step runs them.
import { timeGpu, type GpuContext } from '@qwen3-webgpu/tensor';
import { resolveSampling, type Qwen3ForCausalLM, type StepProfile } from '../src/index.ts';

const greedy = resolveSampling({ temperature: 0 });
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const pad = (s: string | number, n: number) => String(s).padStart(n);

/** Profiles decode steps of `lm` (after feeding `prompt`, or from where it stands) and prints the tables. */
export async function printProfile(ctx: GpuContext, lm: Qwen3ForCausalLM, prompt: number[] | undefined, copyGbps: number, steps = 32): Promise<void> {
  if (prompt) {
    lm.reset();
    await lm.next(prompt, greedy, 0);
  }
  const encode: number[] = [];
  const gpu: number[] = [];
  for (let s = 0; s < steps; s++) {
    const p = await lm.profileStep(greedy, 0, false);
    encode.push(p.encodeMs);
    gpu.push(p.gpuMs);
  }
  console.log(
    `\nprofile at ${lm.length} cached positions, ${steps} steps: host encode ${(median(encode) * 1000).toFixed(0)} µs/step (min ${(Math.min(...encode) * 1000).toFixed(0)}), ` +
      `GPU ${(median(gpu) * 1000).toFixed(0)} µs/step (one pass, min ${(Math.min(...gpu) * 1000).toFixed(0)})`,
  );

  // The host's share, split: recording the step into a pass (setPipeline / setBindGroup / dispatchWorkgroups through
  // the bindings), finish(), and submit() (where Dawn's backend translates the commands), each waited out on the GPU.
  const split = { encode: [] as number[], finish: [] as number[], submit: [] as number[] };
  const stepList = lm.decodeStep(greedy);
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    const encoder = ctx.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    stepList.encode(pass);
    pass.end();
    const t1 = performance.now();
    const cb = encoder.finish();
    const t2 = performance.now();
    ctx.device.queue.submit([cb]);
    const t3 = performance.now();
    await ctx.device.queue.onSubmittedWorkDone();
    split.encode.push(t1 - t0);
    split.finish.push(t2 - t1);
    split.submit.push(t3 - t2);
  }
  const us = (v: number[]) => `${(median(v) * 1000).toFixed(0)} µs`;
  console.log(`host per step, ${stepList.length} dispatches: record ${us(split.encode)}, finish ${us(split.finish)}, submit ${us(split.submit)} (medians)`);

  const rounds = 8;
  const perDispatch: NonNullable<StepProfile['dispatches']>[] = [];
  for (let s = 0; s < rounds; s++) perDispatch.push((await lm.profileStep(greedy, 0, true)).dispatches!);
  printKinds(perDispatch, copyGbps, 'tok');

  // Isolated loops: every dispatch of one GEMV kind in a step, back to back in one pass, repeated.
  console.log(`each kind in isolation (a step's dispatches of that kind back to back in one pass):`);
  // The GEMVs first, then every other kind of the step: RMSNorm (next to no bytes) shows what a dependent dispatch
  // costs whatever its size, the floor under the others.
  const gemvs = ['qkv gemv', 'o_proj', 'gate_up', 'down', 'lm_head'];
  const others = [...new Set(stepList.describe().map((d) => d.tag))].filter((t) => !gemvs.includes(t));
  for (const tag of [...gemvs, ...others]) {
    const view = stepList.select((t) => t === tag);
    if (view.length === 0) continue;
    const bytes = view.describe().reduce((s, d) => s + d.bytes, 0);
    const timing = await timeGpu(ctx, (pass) => view.encode(pass), { repeats: tag === 'lm_head' ? 20 : 4, trials: 9 });
    const gbps = bytes / (timing.ms * 1e6);
    console.log(
      `  ${tag.padEnd(10)} ${pad(view.length, 3)} dispatches, ${(bytes / 1e6).toFixed(1)} MB: ${(timing.ms * 1000).toFixed(1)} µs (${((timing.ms * 1000) / view.length).toFixed(2)} a dispatch), ${gbps.toFixed(0)} GB/s = ${((100 * gbps) / copyGbps).toFixed(1)} % of copy (${timing.method})`,
    );
  }
}

/**
 * Per kernel kind over several profiled runs of the same work (each dispatch in its own pass): dispatches, µs, MB,
 * GB/s and % of copy per `unit` (a decode token, a prefill chunk), median over the runs.
 */
function printKinds(runs: NonNullable<StepProfile['dispatches']>[], copyGbps: number, unit: string): void {
  const kinds = new Map<string, { count: number; ms: number[]; bytes: number }>();
  for (const run of runs) {
    const perRun = new Map<string, { count: number; ms: number; bytes: number }>();
    for (const d of run) {
      const k = perRun.get(d.tag) ?? { count: 0, ms: 0, bytes: 0 };
      k.count++;
      k.ms += d.ms;
      k.bytes += d.bytes;
      perRun.set(d.tag, k);
    }
    for (const [tag, k] of perRun) {
      const acc = kinds.get(tag) ?? { count: k.count, ms: [], bytes: k.bytes };
      acc.ms.push(k.ms);
      kinds.set(tag, acc);
    }
  }
  const rows = [...kinds].map(([tag, k]) => ({ tag, count: k.count, us: median(k.ms) * 1000, bytes: k.bytes })).sort((a, b) => b.us - a.us);
  const total = rows.reduce((s, r) => s + r.us, 0);
  console.log(`each dispatch in its own pass (median of ${runs.length} runs; sums exceed the one-pass time by the per-pass cost):`);
  console.log(`${'kernel'.padEnd(18)} ${pad(`disp/${unit}`, 10)} ${pad(`µs/${unit}`, 10)} ${pad(`MB/${unit}`, 10)} ${pad('GB/s', 7)} ${pad('% copy', 7)}`);
  for (const r of rows) {
    const gbps = r.bytes / (r.us * 1e3);
    console.log(
      `${r.tag.padEnd(18)} ${pad(r.count, 10)} ${pad(r.us.toFixed(1), 10)} ${pad((r.bytes / 1e6).toFixed(2), 10)} ${pad(gbps.toFixed(0), 7)} ${pad(((100 * gbps) / copyGbps).toFixed(1), 7)}`,
    );
  }
  console.log(
    `${'total'.padEnd(18)} ${pad(
      rows.reduce((s, r) => s + r.count, 0),
      10,
    )} ${pad(total.toFixed(1), 10)}`,
  );
}

/** Profiles the prefill of `prompt` (one chunk, ≤ maxRows) from an empty cache: one-pass GPU time, then per kind. */
export async function printPrefillProfile(lm: Qwen3ForCausalLM, prompt: number[], copyGbps: number, runs = 5): Promise<void> {
  const onePass: number[] = [];
  const encode: number[] = [];
  for (let r = 0; r < runs; r++) {
    lm.reset();
    const p = await lm.profilePrefill(prompt, false);
    onePass.push(p.gpuMs);
    encode.push(p.encodeMs);
  }
  console.log(
    `\nprefill profile, ${prompt.length} tokens from an empty cache: GPU ${median(onePass).toFixed(2)} ms in one pass (min ${Math.min(...onePass).toFixed(2)}), ` +
      `host encode ${median(encode).toFixed(2)} ms (recorded list replayed)`,
  );
  const perDispatch: NonNullable<StepProfile['dispatches']>[] = [];
  for (let r = 0; r < runs; r++) {
    lm.reset();
    perDispatch.push((await lm.profilePrefill(prompt, true)).dispatches!);
  }
  printKinds(perDispatch, copyGbps, 'chunk');
  // Each kind's share of the one-pass time: the chunk in one pass without that kind's dispatches (what the rest costs),
  // so pass costs do not inflate it and overlap between neighbours is counted once.
  // Each run without a kind follows a run of the whole chunk, which both refreshes what the omitted kind would leave
  // stale and gives the time it is compared with (one-pass times of one process were seen to drift by ~30 % over a
  // few seconds of these runs).
  const tags = [...new Set(perDispatch[0]!.map((d) => d.tag))];
  console.log(`one pass without one kind (median of ${runs} pairs; marginal: the whole chunk's time just before, minus it):`);
  for (const tag of tags) {
    const without: number[] = [];
    const marginal: number[] = [];
    for (let r = 0; r < runs; r++) {
      lm.reset();
      const whole = (await lm.profilePrefill(prompt, false)).gpuMs;
      lm.reset();
      const rest = (await lm.profilePrefill(prompt, false, (t) => t !== tag)).gpuMs;
      without.push(rest);
      marginal.push(whole - rest);
    }
    const count = perDispatch[0]!.filter((d) => d.tag === tag).length;
    console.log(`  ${tag.padEnd(24)} ${pad(count, 4)} dispatches: rest ${median(without).toFixed(2)} ms, marginal ${(median(marginal) * 1000).toFixed(0)} µs`);
  }
}
