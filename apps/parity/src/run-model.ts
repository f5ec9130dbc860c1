// Our model on a prompt, as parity needs it: every layer's output and the logits over the prompt, and the greedy
// continuation. Both backends (WebGPU, float64 CPU); a fault (CPU only) makes a deliberately wrong model.
import { CpuQwen3Model, generate, loadCpuWeights, NonFiniteLogitsError, Qwen3ForCausalLM, type CpuModelFault } from '@qwen3-webgpu/qwen3';
import { openCliGpuContext } from '@qwen3-webgpu/cli-kit/gpu';
import { loadQwen3Weights, openCheckpoint, type Checkpoint } from '@qwen3-webgpu/weights';
import { UsageError } from '@qwen3-webgpu/cli-kit/errors';

export type Backend = 'webgpu' | 'cpu';

export interface ModelRun {
  backend: Backend;
  /** The adapter, or 'cpu (float64)'. */
  device: string;
  config: Checkpoint['config'];
  /** After each decoder layer, [seq, hidden] (index 0 = layer 0's output). */
  layers: Float32Array[];
  /** [seq, vocab]. */
  logits: Float32Array;
  greedyIds: number[];
  /** Why the greedy continuation stopped before its last step (non-finite logits), if it did. */
  greedyStopped?: string;
  /** CPU runs: the top-1 − top-2 logit margin at each greedy step (near-tie judgement when backends differ). */
  greedyMargins?: number[];
}

/** Greedy by hand on the CPU model, keeping each step's top-2 margin. */
function cpuGreedy(lm: CpuQwen3Model, promptIds: readonly number[], n: number): { ids: number[]; margins: number[]; stopped?: string } {
  lm.reset();
  const ids: number[] = [];
  const margins: number[] = [];
  const vocab = lm.vocabSize;
  let feed: readonly number[] = promptIds;
  for (let step = 0; step < n; step++) {
    const { logits } = lm.forward(feed);
    const row = logits.subarray((feed.length - 1) * vocab);
    if (!row.every(Number.isFinite)) return { ids, margins, stopped: new NonFiniteLogitsError(lm.length - 1).message };
    let [a, b] = row[0]! >= row[1]! ? [0, 1] : [1, 0];
    for (let i = 2; i < vocab; i++) {
      if (row[i]! > row[a]!) [a, b] = [i, a];
      else if (row[i]! > row[b]!) b = i;
    }
    ids.push(a);
    margins.push(row[a]! - row[b]!);
    feed = [a];
  }
  return { ids, margins };
}

/** The loaders' findings (NaN or ±Inf in a tensor), one line each on stderr; the table shows their effect. */
const warn = (line: string) => process.stderr.write(`qwen3-parity: warning: ${line}\n`);

export async function runModel(dir: string, backend: Backend, promptIds: readonly number[], newTokens: number, fault?: CpuModelFault): Promise<ModelRun> {
  const checkpoint = await openCheckpoint(dir);
  const c = checkpoint.config;
  const bad = promptIds.find((id) => id >= c.vocabSize);
  if (bad !== undefined) throw new UsageError(`prompt id ${bad} is outside the model's vocabulary [0, ${c.vocabSize})`);
  if (fault && fault.fromLayer >= c.numHiddenLayers) throw new UsageError(`--fault-layer ${fault.fromLayer}: the model has ${c.numHiddenLayers} layers`);
  const maxContext = Math.min(c.maxPositionEmbeddings, promptIds.length + newTokens + 1);
  if (backend === 'cpu') {
    const lm = new CpuQwen3Model(await loadCpuWeights(checkpoint, warn), { maxContext, ...(fault ? { fault } : {}) });
    const r = lm.forward(promptIds, { hiddenStates: true });
    const g = cpuGreedy(lm, promptIds, newTokens);
    return {
      backend,
      device: 'float64 arithmetic on the host',
      config: c,
      layers: r.hiddenStates!.slice(1),
      logits: r.logits,
      greedyIds: g.ids,
      greedyMargins: g.margins,
      ...(g.stopped ? { greedyStopped: g.stopped } : {}),
    };
  }
  if (fault) throw new UsageError('--fault is built into the CPU backend only: add --backend cpu');
  const ctx = await openCliGpuContext();
  const weights = await loadQwen3Weights(ctx, checkpoint, { onWarning: warn });
  const lm = new Qwen3ForCausalLM(ctx, weights, { maxContext, hiddenStates: true });
  try {
    const r = await lm.forward(promptIds);
    const greedyIds: number[] = [];
    let greedyStopped: string | undefined;
    try {
      for await (const id of generate(lm, promptIds, { temperature: 0, maxTokens: newTokens })) greedyIds.push(id);
    } catch (err) {
      // Non-finite logits end the continuation, not the report: the layer table shows where the values broke.
      if (!(err instanceof NonFiniteLogitsError)) throw err;
      greedyStopped = err.message;
    }
    const device = ctx.info.description || ctx.info.device;
    return { backend, device, config: c, layers: r.hiddenStates!.slice(1), logits: r.logits, greedyIds, ...(greedyStopped ? { greedyStopped } : {}) };
  } finally {
    lm.destroy();
    weights.destroy();
    ctx.destroy();
  }
}
