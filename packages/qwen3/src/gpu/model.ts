// The WebGPU backend: Qwen3Model (embedding, decoder layers, final norm) and Qwen3ForCausalLM (lm_head, sampling),
// over weights loaded with @qwen3-webgpu/weights. A decode step is one recorded pass replayed; a prompt chunk is a few
// submits. Weights, KV caches and the decode step's activations are allocated at construction; the activations of
// host-fed passes (prompt chunks, forward()) grow to the longest chunk seen, up to maxRows.
import { checkWeightRanges } from '@qwen3-webgpu/matmul';
import { createQkvRope } from '@qwen3-webgpu/qkv-rope';
import { createRmsNormF32, type RmsNormF32 } from '@qwen3-webgpu/rmsnorm-f32';
import {
  createTensor,
  DispatchList,
  encodeCopyWords,
  fillTensor,
  readFloat,
  writeTensor,
  type DispatchTarget,
  type GpuContext,
  type Tensor,
} from '@qwen3-webgpu/tensor';
import type { Qwen3Config, Qwen3Weights } from '@qwen3-webgpu/weights';
import type { TokenBackend } from '../generate.ts';
import { defaultMaxContext } from '../max-context.ts';
import {
  createAttention,
  createEmbedding,
  createLinear,
  createMarkSeen,
  createSampler,
  type Attention,
  type Embedding,
  type Linear,
  type MarkSeen,
  type Sampler,
  type SampleStep,
} from '../kernels/index.ts';
import { checkSampledId } from '../non-finite.ts';
import { resolveSampling, type ResolvedSampling } from '../sampling.ts';
import {
  Qwen3AttentionSeparated,
  Qwen3DecoderLayerSeparated,
  Qwen3MLP,
  takeSums,
  type Activations,
  type GemmChoice,
  type ResidualCarry,
  type SetPosition,
  type TcVariant,
} from './layers.ts';
import { PromptRecordings } from './prompt-recordings.ts';
import { ReadbackRing } from './readback-ring.ts';

export interface GpuModelOptions {
  /** KV cache positions; default min(4096, max_position_embeddings). */
  maxContext?: number;
  /**
   * Rows one pass takes (longer inputs are fed in chunks); default 2048, or the largest power of two whose widest
   * activation ([rows, intermediate_size] f32 at most model sizes) fits one storage binding. The activations of host-fed passes are sized
   * to the longest chunk seen (a power of two of at least 16 rows, at most maxRows), so short prompts never pay for it:
   * at Qwen3-0.6B a 2,048-row chunk holds ~110 MB of activations plus the GEMM and attention scratch it needs.
   */
  maxRows?: number;
  /**
   * GEMM of prefill projections on GPUs: 'auto' (default) tensor cores where the device offers them, else the
   * register-tiled FMA kernel (@qwen3-webgpu/matmul); 'fma' forces the FMA kernel; 'tiled' this package's own.
   */
  gemm?: GemmChoice;
  /**
   * The tensor-core kernel of the layers' projections (LinearOptions.tcVariant): 'auto' (default), or 'presplit' /
   * 'f16w' forced for comparison runs. lm_head keeps 'auto' (presplit: its W as f16 would exceed the f16w cap).
   */
  tcVariant?: TcVariant;
  /**
   * The most command buffers a chunk of a prompt goes out in, each submitted as soon as it is encoded so the GPU
   * starts on the first layers while the host encodes the rest: the first holds the embedding and the first layer's
   * attention, each next about 1.3× the last (prefillGroups; 9 at Qwen3-0.6B's 28 layers), the tail merged past this
   * cap. Default 16; 1 encodes the whole chunk before submitting it.
   */
  prefillSubmits?: number;
  /**
   * Prompt chunks kept recorded (prompt-recordings.ts): a chunk whose row count (and head: logits of every row, none,
   * or the pick of the next id) was seen before is recorded the second time and replayed after that at any position
   * its attention's key splits allow, so the host patches a position instead of encoding ~280 dispatches; the least
   * recently used recording is dropped past this many, and all of them when the activations grow. Default 4; 0 encodes
   * every chunk afresh.
   */
  promptRecordings?: number;
  /** Keep the residual stream after the embedding and after every layer (for parity checks); default false. */
  hiddenStates?: boolean;
  /**
   * Where the layers' projections run the tensor-core f16w GEMM: before the first step, re-encode each weight that is
   * exact in f16 (n and k multiples of 64) in place as that kernel's f16 fragments of W · 2^s (matmul's storeAsF16), so
   * prefill loads the weights as they are instead of converting them on every call; decode GEMVs read the fragments
   * and divide 2^s out, the values are the same. H200, Qwen3-0.6B, 512 tokens to the first token: 11.4–11.5 ms against
   * 13.4–15.2 (140 dispatches a chunk fewer; packages/qwen3/BENCHMARKS.md). Default true. The bytes of the Qwen3Weights
   * given to the model change and their entries become the f16 views: models made later on them start from those, on
   * the same path (one forced to 'fma' refuses them, saying so).
   */
  storeWeightsAsF16?: boolean;
}

export interface ForwardResult {
  /** [seq, vocab]. */
  logits: Float32Array;
  /** With hiddenStates: after the embedding and after each layer, each [seq, hidden]. */
  hiddenStates?: Float32Array[];
}

/** Embedding → decoder layers → final RMSNorm, with the activations and KV caches it owns. */
export class Qwen3Model {
  readonly config: Qwen3Config;
  readonly maxContext: number;
  readonly maxRows: number;
  readonly layers: Qwen3DecoderLayerSeparated[];
  readonly norm: RmsNormF32;
  readonly embedding: Embedding;
  readonly ids: Tensor;
  /** Activations of the recorded one-row decode steps (bound into their recordings, so never reallocated). */
  readonly decodeActivations: Activations;
  readonly #attention: Attention;
  readonly #kvCaches: Tensor[] = [];
  /** Activations of host-fed passes and their row count (grown by activations()). */
  #prefill: { act: Activations; rows: number; hidden: { tensor: Tensor; slotWords: number } | undefined } | undefined;
  /** Whether host-fed passes keep the residual stream after every layer (GpuModelOptions.hiddenStates). */
  readonly keepsHiddenStates: boolean;
  readonly #storeWeightsAsF16: boolean;
  /** Projection weight tensors prepare() re-encoded as f16 · 2^s (GpuModelOptions.storeWeightsAsF16). */
  storedWeights = 0;

  constructor(
    readonly ctx: GpuContext,
    readonly weights: Qwen3Weights,
    options: GpuModelOptions = {},
  ) {
    const c = (this.config = weights.config);
    this.maxContext = options.maxContext ?? defaultMaxContext(c);
    this.maxRows = options.maxRows ?? defaultMaxRows(c, ctx.limits.maxStorageBufferBindingSize);
    if (!Number.isSafeInteger(this.maxRows) || this.maxRows < 1) throw new RangeError(`maxRows must be a positive integer, got ${this.maxRows}`);
    if (this.maxContext > c.maxPositionEmbeddings)
      throw new RangeError(`maxContext ${this.maxContext} exceeds the model's ${c.maxPositionEmbeddings} positions`);
    // The subgroup reduction on GPUs: faster at the rows a model normalizes (rmsnorm-f32's README, H100: 1 row 3.8
    // against 4.2 µs, 512 rows 12.1 against 13.8); the workgroup tree stays the default only for ≥ 32k rows.
    const normPath = ctx.kernelLayout === 'gpu' && ctx.features.subgroups ? 'subgroup' : 'workgroup';
    // CPU adapters: 64-thread workgroups (lavapipe runs a workgroup's invocations as coroutines on one core, so a
    // 256-thread tree pays for 192 idle rows' lanes at every barrier): the demonstration model's 13 norms a decode
    // step took 295 µs instead of 459 in one pass (eleventh session).
    const normThreads = ctx.kernelLayout === 'cpu' ? { workgroupSize: 64 } : {};
    this.norm = createRmsNormF32(ctx, { n: c.hiddenSize, eps: c.rmsNormEps, path: normPath, ...normThreads });
    const qkv = createQkvRope(ctx, {
      hidden: c.hiddenSize,
      numHeads: c.numAttentionHeads,
      numKvHeads: c.numKeyValueHeads,
      headDim: c.headDim,
      eps: c.rmsNormEps,
      ropeTheta: c.ropeTheta,
      maxPositions: this.maxContext,
    });
    const normDtype = weights.layers[0]?.['self_attn.q_norm'].tensor.dtype ?? 'f32';
    const attention = (this.#attention = createAttention(ctx, {
      numHeads: c.numAttentionHeads,
      numKvHeads: c.numKeyValueHeads,
      headDim: c.headDim,
      capacity: this.maxContext,
      qkNorm: { eps: c.rmsNormEps, dtype: normDtype },
    }));
    this.embedding = createEmbedding(ctx, weights.embedTokens.parts);
    this.ids = createTensor(ctx, [this.maxRows], 'u32', { label: 'ids' });
    this.keepsHiddenStates = options.hiddenStates ?? false;
    this.#storeWeightsAsF16 = options.storeWeightsAsF16 ?? true;
    this.decodeActivations = this.#allocate(1, 'decode');
    this.layers = weights.layers.map((w) => {
      const cache = () => createTensor(ctx, [c.numKeyValueHeads, this.maxContext, c.headDim], 'f32', { label: 'kv cache' });
      const [k, v] = [cache(), cache()];
      this.#kvCaches.push(k, v);
      return new Qwen3DecoderLayerSeparated(
        new Qwen3AttentionSeparated(ctx, c, this.norm, qkv, attention, w, k, v, options.gemm, options.tcVariant),
        new Qwen3MLP(ctx, c, this.norm, w, options.gemm, options.tcVariant),
      );
    });
  }

  /** The buffers of passes of up to `rows` rows: residual stream, projections, attention partials. */
  #allocate(rows: number, label: string): Activations {
    const { ctx, config: c } = this;
    const t = (shape: number[], name: string) => createTensor(ctx, shape, 'f32', { label: `${label} ${name}` });
    return {
      // One more row where rows · hidden is not a whole number of vec4s: hidden-state copies move vec4s.
      x: t([rows + ((rows * c.hiddenSize) % 4 ? 1 : 0), c.hiddenSize], 'residual'),
      a: t([rows, c.hiddenSize], 'normed'),
      q: t([rows, c.numAttentionHeads, c.headDim], 'q'),
      attn: t([rows, c.numAttentionHeads * c.headDim], 'attention out'),
      mlp: t([rows, c.intermediateSize], 'mlp hidden'),
      qkv: t([rows, (c.numAttentionHeads + 2 * c.numKeyValueHeads) * c.headDim], 'qkv projections'),
      partials: t([this.#attention.scratchSize(rows)], 'attention partials'),
      ...this.#gemmInputSplits(rows, label),
    };
  }

  /**
   * Prompts whose projections run on the tensor-core GEMM: the normed rows and the attention output as that GEMM reads
   * them (x-split.wgsl), written by the RMSNorm and flash attention's merge so that no GEMM pass splits them again.
   */
  #gemmInputSplits(rows: number, label: string): Pick<Activations, 'aXs' | 'aRowExp' | 'attnXs' | 'attnRowExp'> {
    const layer = rows > 1 ? this.layers[0] : undefined;
    const split = (words: number, name: string) =>
      words > 0
        ? {
            xs: createTensor(this.ctx, [words], 'u32', { label: `${label} ${name} split` }),
            rowExp: createTensor(this.ctx, [rows], 'i32', { label: `${label} ${name} exponents` }),
          }
        : undefined;
    // The RMSNorm splits rows of whole 4-element units only.
    const normed =
      this.config.hiddenSize % 4 === 0
        ? split(Math.max(layer?.attention.qkvProj.splitXWords(rows) ?? 0, layer?.mlp.gateUp.splitXWords(rows) ?? 0), 'normed')
        : undefined;
    const attn = split(layer?.attention.oProj.splitXWords(rows) ?? 0, 'attention out');
    return {
      ...(normed ? { aXs: normed.xs, aRowExp: normed.rowExp } : {}),
      ...(attn ? { attnXs: attn.xs, attnRowExp: attn.rowExp } : {}),
    };
  }

  /**
   * The activations of a host-fed pass of `rows` rows (≤ maxRows): grown, when a longer chunk comes, to the next power
   * of two of at least 16 rows (at most maxRows); the previous set is destroyed (encode no pass that still needs it).
   */
  activations(rows: number): Activations {
    if (!Number.isSafeInteger(rows) || rows < 1 || rows > this.maxRows) throw new RangeError(`a pass takes 1 … maxRows (${this.maxRows}) rows, got ${rows}`);
    if (!this.#prefill || this.#prefill.rows < rows) {
      this.#destroyPrefill();
      const size = Math.min(this.maxRows, Math.max(16, 2 ** Math.ceil(Math.log2(rows))));
      // Slots of whole vec4s (the copy moves vec4s): rows · hidden rounded up.
      const slotWords = Math.ceil((size * this.config.hiddenSize) / 4) * 4;
      const hidden = this.keepsHiddenStates
        ? { tensor: createTensor(this.ctx, [this.weights.layers.length + 1, slotWords], 'f32', { label: 'hidden states' }), slotWords }
        : undefined;
      this.#prefill = { act: this.#allocate(size, 'prefill'), rows: size, hidden };
    }
    return this.#prefill.act;
  }

  /**
   * With hiddenStates: the residual stream of the last host-fed pass after the embedding and after every layer,
   * [layers + 1, slotWords] f32, slot l holding [seq, hidden] first (the rest is stale).
   */
  hiddenStates(): { tensor: Tensor; slotWords: number } | undefined {
    return this.#prefill?.hidden;
  }

  /** Positions up to which a decode step may be recorded `direct` (encode()); 0: never on this adapter. */
  get directDecodeKeys(): number {
    return this.layers[0]?.attention.attention.directDecodeKeys ?? 0;
  }

  #destroyPrefill(): void {
    if (!this.#prefill) return;
    for (const t of [...Object.values(this.#prefill.act), ...(this.#prefill.hidden ? [this.#prefill.hidden.tensor] : [])]) t?.destroy();
    this.#prefill = undefined;
  }

  /**
   * Encodes the seq ids in `ids` (this.ids unless given, e.g. the id the previous step picked, still on the GPU) at
   * positions pos0 … over `act` (by default the host-fed set, activations(seq)); leaves the normalized rows in act.a.
   * Returns the setter of pos0 for a recorded step. `direct`: a decode step for contexts of up to directDecodeKeys
   * positions (attention without partials or a combine; its setter refuses later positions).
   */
  encode(
    target: DispatchTarget,
    seq: number,
    pos0: number,
    normRows: 'all' | 'last' | 'none',
    ids: Tensor = this.ids,
    act: Activations = this.activations(seq),
    direct = false,
  ): SetPosition {
    const setters = this.stages(seq, pos0, normRows, ids, act, direct).flatMap((stage) => stage(target) ?? []);
    return (p) => {
      for (const at of setters) at(p);
    };
  }

  /**
   * The same work as encode() as stages in order — embedding, each layer's attention and MLP, final norm — each encoding into a
   * target of the caller's choice (prefill spreads them over several submits so the GPU starts while the host
   * encodes the rest); a stage returns its position setter, if it has one.
   */
  stages(
    seq: number,
    pos0: number,
    normRows: 'all' | 'last' | 'none',
    ids: Tensor = this.ids,
    act: Activations = this.activations(seq),
    direct = false,
  ): ((target: DispatchTarget) => SetPosition | undefined)[] {
    const { ctx } = this;
    const h = this.config.hiddenSize;
    const hidden = act === this.#prefill?.act ? this.hiddenStates() : undefined;
    // Whole vec4s: rounded up past seq·h into words the readback ignores (slots and act.x are padded to vec4s).
    const keep = (target: DispatchTarget, slot: number) => {
      if (hidden) encodeCopyWords(ctx, target, act.x, hidden.tensor.rows(slot, 1).view([hidden.slotWords]), Math.ceil((seq * h) / 4) * 4);
    };
    // o_proj's and down's k-split sums go to the RMSNorm after them (rows of whole vec4s), except where x must be whole
    // at a stage's end: hidden states kept, or the last layer of a chunk that ends without the norm over every row.
    const carry: ResidualCarry | undefined = hidden || h % 4 !== 0 ? undefined : { leave: true };
    const last = this.layers.length - 1;
    return [
      (target) => {
        this.embedding.encode(target, { ids, out: act.x, seq });
        keep(target, 0);
        return undefined;
      },
      // Each layer as two stages, attention and MLP: prefill's first command buffer ends after the first attention.
      ...this.layers.flatMap((layer, l) => [
        (target: DispatchTarget) => {
          if (carry) carry.leave = true;
          return layer.attention.encode(target, act, seq, pos0, direct, carry);
        },
        (target: DispatchTarget) => {
          if (carry) carry.leave = l < last || normRows === 'all';
          layer.mlp.encode(target, act, seq, carry);
          keep(target, l + 1);
          return undefined;
        },
      ]),
      (target) => {
        if (normRows === 'all') this.norm.encode(target, { x: act.x, w: this.weights.norm.tensor, y: act.a, rows: seq, ...takeSums(carry) });
        if (normRows === 'last') this.norm.encode(target, { x: act.x.rows(seq - 1, 1), w: this.weights.norm.tensor, y: act.a, rows: 1 });
        return undefined;
      },
    ];
  }

  /**
   * Checks every projection weight for the tensor-core GEMM once (nothing to do on other paths), and re-encodes those
   * it may as f16 · 2^s (GpuModelOptions.storeWeightsAsF16). Before anything is encoded: recordings made earlier would
   * hold the old views.
   */
  async prepare(): Promise<void> {
    // All of them in one pass and one readback; each handle's own prepare below then finds its weights checked.
    if (this.layers.some((l) => l.attention.qkvProj.gemmPath === 'subgroup-matrix'))
      await checkWeightRanges(
        this.ctx,
        this.layers.flatMap((l) => [...l.attention.gemmWeights(), ...l.mlp.gemmWeights()]),
      );
    for (const layer of this.layers) {
      await layer.attention.prepare();
      await layer.mlp.prepare();
    }
    if (!this.#storeWeightsAsF16) return;
    for (const layer of this.layers) this.storedWeights += (await layer.attention.storeWeightsAsF16()) + (await layer.mlp.storeWeightsAsF16());
  }

  destroy(): void {
    this.#destroyPrefill();
    for (const t of [this.ids, ...Object.values(this.decodeActivations), ...this.#kvCaches]) t?.destroy();
  }
}

/** GpuModelOptions.maxRows by default: 2048 rows, fewer where a [rows, widest] f32 activation would exceed one binding. */
export function defaultMaxRows(c: Qwen3Config, maxBindingBytes: number): number {
  const widest = Math.max(c.intermediateSize, (c.numAttentionHeads + 2 * c.numKeyValueHeads) * c.headDim, c.hiddenSize) * 4;
  let rows = 2048;
  while (rows > 1 && rows * widest > maxBindingBytes) rows /= 2;
  return rows;
}

/**
 * Where a prompt chunk's `stages` are cut into command buffers (bounds, 0 … stages): the first holds 2 stages (the
 * embedding and the first layer's attention), so the GPU starts once a few dispatches are encoded; each next one
 * `growth` × the last, so that the host has it ready before the GPU finishes the ones before: 1.3 where the host
 * encodes the chunk (on the H200 a layer's GPU time at 512 rows is ~1.4× its host encoding; even groups left the GPU
 * waiting early on), 2 where it replays a recording (~25× faster than the GPU; every buffer costs a pass and a
 * submit); at most `most` buffers (the tail merged).
 */
export function prefillGroups(stages: number, most: number, growth = ENCODED_GROWTH): number[] {
  const bounds = [0];
  let size = 2;
  while (bounds.at(-1)! < stages) {
    bounds.push(bounds.length === most ? stages : Math.min(stages, bounds.at(-1)! + Math.round(size)));
    size *= growth;
  }
  return bounds;
}

/** prefillGroups' growth of the command buffers of a chunk encoded as it goes, and of a recorded one. */
const ENCODED_GROWTH = 1.3;
const RECORDED_GROWTH = 2;

/** GpuModelOptions.prefillSubmits by default. */
const PREFILL_SUBMITS = 16;
/** GpuModelOptions.promptRecordings by default. */
const PROMPT_RECORDINGS = 4;

/** A decode step recorded once and replayed at every position: fed by the id the previous step picked. */
interface DecodeRecording {
  list: DispatchList;
  /** Replayed once under error scopes already. */
  checked: boolean;
  setPosition: SetPosition;
  sample: SampleStep;
}

/** What a prompt chunk ends in (Qwen3ForCausalLM's #step): the final norm over every row, nothing, or the pick of the next id. */
type PromptHead = 'all' | 'none' | { sampling: ResolvedSampling; u: number; readback: GPUBuffer };

/**
 * A prompt chunk's command buffers as encoders of passes, its key in the recordings, and (when it is being recorded)
 * what destroys the lists made so far if the chunk fails before the last one.
 */
interface PromptGroups {
  key: string;
  groups: ((pass: GPUComputePassEncoder) => void)[];
  abandon?: () => void;
}

/** Per decode step: host time to encode, GPU time (whole step), and with perDispatch each dispatch's own time. */
export interface StepProfile {
  encodeMs: number;
  gpuMs: number;
  /** Each dispatch in its own timed pass (perDispatch): kind, bytes moved, GPU ms. */
  dispatches?: { tag: string; bytes: number; ms: number }[];
}

/** Qwen3Model + lm_head + sampling on the GPU; streams one token id per step. */
export class Qwen3ForCausalLM implements TokenBackend {
  readonly model: Qwen3Model;
  /** Positions already in the KV cache. */
  length = 0;
  readonly #logits: Tensor;
  readonly #seen: Tensor;
  /** The id the last step picked: the next decode step's input, so it never has to come back first. */
  readonly #token: Tensor;
  readonly #readbacks: ReadbackRing;
  readonly #lmHead: Linear;
  /** Rows of logits one lm_head pass writes (forward() reads every row in blocks of this many). */
  readonly #logitRows: number;
  readonly #prefillSubmits: number;
  readonly #prompts: PromptRecordings;
  /** Prompt chunks that went out as a replayed recording (GpuModelOptions.promptRecordings), for benchmarks and tests. */
  promptReplays = 0;
  /** Prompt chunks recorded (each then replayable), for benchmarks and tests. */
  promptsRecorded = 0;
  /** The weights' check for the tensor-core GEMM, started by the first pass of several rows. */
  #prepared: Promise<void> | undefined;
  /** #prepared has resolved: next() then reaches its first submit without yielding to the microtask queue. */
  #isPrepared = false;
  readonly #sampler: Sampler;
  readonly #markSeen: MarkSeen;
  /**
   * Recorded decode steps: greedy (parallel argmax) and sampling pick with different dispatches; each also recorded
   * direct (attention without a combine) for steps at positions below the model's directDecodeKeys.
   */
  readonly #decode = new Map<string, DecodeRecording>();
  /** How many times each id was fed (prompt ids, and picked ids once a later step consumed them). */
  readonly #fed = new Map<number, number>();
  /** The id the latest step will pick (resolves when its readback does). */
  #lastPick: Promise<number> | undefined;
  /** Queued decode steps, oldest first: the promise of the id each one consumed. */
  readonly #inputs: Promise<number>[] = [];

  constructor(
    readonly ctx: GpuContext,
    readonly weights: Qwen3Weights,
    options: GpuModelOptions = {},
  ) {
    this.model = new Qwen3Model(ctx, weights, options);
    this.#prefillSubmits = options.prefillSubmits ?? PREFILL_SUBMITS;
    if (!Number.isSafeInteger(this.#prefillSubmits) || this.#prefillSubmits < 1)
      throw new RangeError(`prefillSubmits must be a positive integer, got ${options.prefillSubmits}`);
    this.#prompts = new PromptRecordings(options.promptRecordings ?? PROMPT_RECORDINGS);
    const c = weights.config;
    // 64 rows of the vocabulary (39 MB at 0.6B): a 512-row chunk's logits would take 311 MB.
    this.#logitRows = Math.min(this.model.maxRows, 64);
    this.#logits = createTensor(ctx, [this.#logitRows, c.vocabSize], 'f32', { label: 'logits' });
    this.#seen = createTensor(ctx, [c.vocabSize], 'u32', { label: 'seen tokens' });
    this.#token = createTensor(ctx, [4], 'u32', { label: 'next token' });
    // CPU adapters: reads paced, so that no core spins on a pending mapping while the device needs it (readback-ring.ts).
    this.#readbacks = new ReadbackRing(ctx.device, 4, ctx.kernelLayout === 'cpu');
    this.#lmHead = createLinear(ctx, { n: c.vocabSize, k: c.hiddenSize, dtype: weights.lmHead.tensor.dtype, tag: 'lm_head', gemm: options.gemm ?? 'auto' });
    this.#sampler = createSampler(ctx, c.vocabSize);
    this.#markSeen = createMarkSeen(ctx);
    fillTensor(this.#seen, 0);
  }

  get maxContext(): number {
    return this.model.maxContext;
  }

  get maxRows(): number {
    return this.model.maxRows;
  }

  get vocabSize(): number {
    return this.weights.config.vocabSize;
  }

  reset(): void {
    this.length = 0;
    this.#fed.clear();
    this.#lastPick = undefined;
    fillTensor(this.#seen, 0);
  }

  /** Runs ids at positions length …; returns logits of every row (and hidden states when the model keeps them). */
  async forward(ids: readonly number[]): Promise<ForwardResult> {
    this.#check(ids);
    const { vocabSize: vocab, hiddenSize: h } = this.weights.config;
    const logits = new Float32Array(ids.length * vocab);
    const hidden = this.model.keepsHiddenStates ? Array.from({ length: this.weights.layers.length + 1 }, () => new Float32Array(ids.length * h)) : undefined;
    await this.#ready();
    for (let start = 0; start < ids.length; start += this.maxRows) {
      const chunk = ids.slice(start, start + this.maxRows);
      await this.#step(chunk, 'all');
      const act = this.model.activations(chunk.length);
      for (let b = 0; b < chunk.length; b += this.#logitRows) {
        const rows = Math.min(this.#logitRows, chunk.length - b);
        const x = act.a.rows(b, rows);
        await this.ctx.run((pass) => this.#lmHead.encode(pass, { x, w: this.weights.lmHead.parts, y: this.#logits, rows }), 'qwen3 lm_head');
        logits.set((await readFloat(this.#logits)).subarray(0, rows * vocab), (start + b) * vocab);
      }
      const states = this.model.hiddenStates();
      if (hidden && states) {
        const all = await readFloat(states.tensor);
        const slot = states.slotWords;
        hidden.forEach((dst, l) => dst.set(all.subarray(l * slot, l * slot + chunk.length * h), start * h));
      }
    }
    return hidden ? { logits, hiddenStates: hidden } : { logits };
  }

  /**
   * Feeds ids (in chunks of maxRows) and picks the next token on the GPU from the last row; lm_head runs on that row
   * only, and only the 4-byte id comes back. One id takes the recorded decode step.
   */
  async next(ids: readonly number[], sampling: ResolvedSampling, u: number): Promise<number> {
    this.#check(ids);
    // Awaited only when there is something to wait for: a prompt goes from the call to its first submit in one go.
    if (this.#inputs.length > 0) await this.#settle();
    if (!this.#isPrepared) await this.#ready();
    if (ids.length === 1) {
      writeTensor(this.#token, Uint32Array.of(ids[0]!, 0, 0, 0));
      this.#lastPick = Promise.resolve(ids[0]!);
      const id = await this.queueNext(sampling, u);
      this.#inputs.length = 0;
      return id;
    }
    // The pick's readback rides in the last chunk's last command buffer: the id is mapped as soon as the GPU is done.
    const readback = this.#readbacks.take();
    for (let start = 0; start < ids.length; start += this.maxRows) {
      const last = start + this.maxRows >= ids.length;
      await this.#step(ids.slice(start, start + this.maxRows), last ? { sampling, u, readback } : 'none');
    }
    // The host's count of fed ids (for discard()) once the GPU has its work: nothing before the first submit waits on it.
    for (const id of ids) this.#feed(id, 1);
    return (this.#lastPick = this.#pick(readback, this.length - 1));
  }

  /**
   * Run-ahead decoding: queues one decode step fed by the id the previous step picked (still on the GPU) and returns
   * the promise of the id this step picks. Several steps may be in flight; discard() drops the newest ones.
   */
  queueNext(sampling: ResolvedSampling, u: number): Promise<number> {
    if (!this.#lastPick) throw new Error('queueNext() needs a previous step (next() with the prompt first)');
    if (this.length + 1 > this.maxContext) throw new RangeError(`${this.length + 1} positions exceed the KV cache (max context ${this.maxContext})`);
    const input = this.#lastPick;
    this.#inputs.push(input);
    void input.then(
      (id) => this.#feed(id, 1),
      () => {},
    );
    const d = this.#prepare(sampling, u);
    const readback = this.#readbacks.take();
    const encode = (pass: GPUComputePassEncoder) => d.list.encode(pass);
    const after = (encoder: GPUCommandEncoder) => encoder.copyBufferToBuffer(this.#token.buffer, 0, readback, 0, 4);
    const position = this.length;
    this.length += 1;
    if (!d.checked) {
      // The first replay runs under error scopes; later ones go straight to the queue.
      d.checked = true;
      const run = this.ctx.run(encode, 'qwen3 decode step', after);
      return (this.#lastPick = run.then(() => this.#pick(readback, position)));
    }
    this.ctx.submit(encode, 'qwen3 decode step', after);
    return (this.#lastPick = this.#pick(readback, position));
  }

  /** The id a step at `position` picked, checked: the sampler's non-finite sentinel becomes NonFiniteLogitsError. */
  #pick(readback: GPUBuffer, position: number): Promise<number> {
    return this.#readbacks.readU32(readback).then((id) => checkSampledId(id, this.vocabSize, position));
  }

  /**
   * Drops the newest `steps` queued decode steps once they have run: their cache positions are given back, and ids
   * they fed are unmarked for the penalties unless the context held them before — as if never queued.
   */
  async discard(steps: number): Promise<void> {
    if (steps > this.#inputs.length) throw new RangeError(`discard(${steps}): only ${this.#inputs.length} steps are queued`);
    const dropped = await Promise.all(this.#inputs.splice(this.#inputs.length - steps));
    await this.#lastPick?.catch(() => {});
    const c = this.weights.config;
    for (const id of dropped) {
      if (this.#feed(id, -1) === 0 && id < c.vocabSize) this.ctx.device.queue.writeBuffer(this.#seen.buffer, this.#seen.byteOffset + id * 4, Uint32Array.of(0));
    }
    this.length -= steps;
    // The pick the next step would consume is the last kept one; the host knows it.
    this.#lastPick = undefined;
  }

  /**
   * What comes before the first step, done once: the projection weights checked for the tensor-core GEMM and, where
   * they may be, stored as f16 (a decode step recorded earlier, e.g. by decodeStep(), is recorded again with the new
   * views), then the decode steps (greedy, sampled; each also direct where the model offers it) recorded, which creates
   * their pipelines and bind groups. Loaders
   * call it (loadCausalLM: the CLI's load time includes it), so the first generate() decodes at the steady rate
   * instead of creating pipelines between its first tokens; next(), forward() and the profilers await it too.
   */
  prepare(): Promise<void> {
    return this.#ready();
  }

  #ready(): Promise<void> {
    this.#prepared ??= (async () => {
      await this.model.prepare();
      await this.#lmHead.prepare(this.weights.lmHead.parts);
      if (this.model.storedWeights > 0) {
        for (const d of this.#decode.values()) d.list.destroy();
        this.#decode.clear();
      }
      for (const temperature of [0, 1]) {
        for (const direct of this.model.directDecodeKeys > 0 ? [false, true] : [false])
          this.#recording(resolveSampling({ temperature }), direct).list.prepare();
      }
      this.#isPrepared = true;
    })();
    return this.#prepared;
  }

  /** Waits for queued steps (their ids already delivered or dropped) before a host-fed step changes the inputs. */
  async #settle(): Promise<void> {
    if (this.#inputs.length === 0) return;
    await Promise.allSettled(this.#inputs);
    await this.#lastPick?.catch(() => {});
    this.#inputs.length = 0;
  }

  /** Counts `id` fed into the context (delta 1) or taken back out (−1); returns how often it is fed now. */
  #feed(id: number, delta: 1 | -1): number {
    const count = Math.max(0, (this.#fed.get(id) ?? 0) + delta);
    this.#fed.set(id, count);
    return count;
  }

  /** The recorded decode step for these settings and the next position, patched for it and this draw. */
  #prepare(sampling: ResolvedSampling, u: number): DecodeRecording {
    const d = this.#recording(sampling, this.length + 1 <= this.model.directDecodeKeys);
    d.setPosition(this.length);
    d.sample.set(sampling, u);
    return d;
  }

  /**
   * The recorded decode step that a step at the current length replays (recorded now if needed), for benchmarks that
   * time its kernels in isolation.
   */
  decodeStep(sampling: ResolvedSampling): DispatchList {
    return this.#recording(sampling, this.length + 1 <= this.model.directDecodeKeys).list;
  }

  #recording(sampling: ResolvedSampling, direct: boolean): DecodeRecording {
    const greedy = sampling.temperature <= 0;
    const key = `${greedy ? 'greedy' : 'sampled'}${direct ? ' direct' : ''}`;
    const recorded = this.#decode.get(key);
    if (recorded) return recorded;
    const { ctx, model } = this;
    const list = new DispatchList(ctx, `qwen3 decode step (${key})`);
    this.#markSeen.encode(list, { ids: this.#token, seen: this.#seen, seq: 1 });
    const setPosition = model.encode(list, 1, 0, 'last', this.#token, model.decodeActivations, direct);
    this.#lmHead.encode(list, { x: model.decodeActivations.a, w: this.weights.lmHead.parts, y: this.#logits, rows: 1 });
    const sample = this.#sampler.encode(list, { logits: this.#logits, seen: this.#seen, out: this.#token, rowOffset: 0, sampling, u: 0 });
    const d = { list, setPosition, sample, checked: false };
    this.#decode.set(key, d);
    return d;
  }

  /**
   * One decode step (fed by the last picked id) measured: host encode time, GPU time of the step, and with
   * perDispatch every dispatch in a timed pass of its own. Needs timestamp-query. Advances like a step.
   */
  async profileStep(sampling: ResolvedSampling, u: number, perDispatch: boolean): Promise<StepProfile & { id: number }> {
    this.#needTimestamps();
    await this.#settle();
    if (!this.#lastPick) throw new Error('profileStep() needs a previous step (next() with the prompt first)');
    this.#feed(await this.#lastPick, 1);
    const d = this.#prepare(sampling, u);
    const readback = this.#readbacks.take();
    const profile = this.#timeList(d.list, perDispatch, (encoder) => encoder.copyBufferToBuffer(this.#token.buffer, 0, readback, 0, 4));
    this.length += 1;
    const id = await (this.#lastPick = this.#readbacks.readU32(readback));
    return { ...(await profile), id };
  }

  /**
   * A prompt of up to maxRows ids at positions length … measured like profileStep: the chunk recorded as prefill
   * encodes it (projections on the prefill GEMM, attention over the new rows), the final norm and lm_head on the last
   * row. Advances the cache like a prefill; the next token is not picked. With `keep` (one pass only) just the
   * dispatches whose tag it passes run: the chunk without one kind shows that kind's share of the one-pass time
   * (the values are then wrong; the times are what the rest costs).
   */
  async profilePrefill(ids: readonly number[], perDispatch: boolean, keep?: (tag: string) => boolean): Promise<StepProfile> {
    if (keep && perDispatch) throw new TypeError('profilePrefill: keep times one pass; it cannot be combined with perDispatch');
    this.#check(ids);
    if (ids.length > this.maxRows) throw new RangeError(`profilePrefill takes up to maxRows (${this.maxRows}) ids, got ${ids.length}`);
    this.#needTimestamps();
    await this.#settle();
    await this.#ready();
    const { ctx, model } = this;
    const seq = ids.length;
    writeTensor(model.ids, Uint32Array.from(ids));
    const list = new DispatchList(ctx, 'qwen3 prefill (profiled)');
    try {
      const act = model.activations(seq);
      model.encode(list, seq, this.length, 'last', model.ids, act);
      this.#lmHead.encode(list, { x: act.a, w: this.weights.lmHead.parts, y: this.#logits, rows: 1 });
      const profile = await this.#timeList(keep ? list.select(keep) : list, perDispatch);
      this.length += seq;
      return profile;
    } finally {
      list.destroy();
    }
  }

  /** Runs a recorded list once under timestamps: the whole list in one pass, or each dispatch in a pass of its own. */
  #needTimestamps(): void {
    if (!this.ctx.features.timestampQuery) throw new Error('profiling needs the timestamp-query feature, which this adapter lacks');
  }

  async #timeList(
    list: DispatchList | ReturnType<DispatchList['select']>,
    perDispatch: boolean,
    after?: (encoder: GPUCommandEncoder) => void,
  ): Promise<StepProfile> {
    const { device } = this.ctx;
    const count = perDispatch ? 2 * list.length : 2;
    const querySet = device.createQuerySet({ type: 'timestamp', count });
    const resolve = device.createBuffer({ size: count * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const read = device.createBuffer({ size: count * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      const t0 = performance.now();
      const encoder = device.createCommandEncoder();
      if (perDispatch) {
        if (!(list instanceof DispatchList)) throw new TypeError('per-dispatch timing needs a whole DispatchList');
        list.encodeProfiled(encoder, querySet);
      } else {
        const pass = encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
        list.encode(pass);
        pass.end();
      }
      const encodeMs = performance.now() - t0;
      after?.(encoder);
      encoder.resolveQuerySet(querySet, 0, count, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, read, 0, count * 8);
      device.queue.submit([encoder.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      const ts = new BigUint64Array(read.getMappedRange().slice(0));
      read.unmap();
      const ms = (i: number) => Number(ts[2 * i + 1]! - ts[2 * i]!) / 1e6;
      if (!perDispatch) return { encodeMs, gpuMs: ms(0) };
      const dispatches = list.describe().map((e, i) => ({ ...e, ms: ms(i) }));
      return { encodeMs, gpuMs: dispatches.reduce((s, e) => s + e.ms, 0), dispatches };
    } finally {
      querySet.destroy();
      resolve.destroy();
      read.destroy();
    }
  }

  #check(ids: readonly number[]): void {
    const c = this.weights.config;
    if (ids.length === 0) throw new RangeError('forward needs at least one token');
    if (this.length + ids.length > this.maxContext)
      throw new RangeError(`${this.length + ids.length} positions exceed the KV cache (max context ${this.maxContext})`);
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) throw new RangeError(`token id ${id} is outside the vocabulary [0, ${c.vocabSize})`);
    }
  }

  /**
   * Host ids through the model, then: the final norm on every row for forward()'s lm_head blocks ('all'), lm_head on
   * the last row and sampling (its id copied into `readback`), or nothing ('none'). The work goes out in
   * prefillSubmits command buffers, each submitted as soon as it is encoded (or replayed: #promptGroups), so the GPU
   * runs the first layers while the host encodes the rest; one pair of error scopes covers them all. Returns once submitted and checked, without
   * waiting for the GPU: whatever reads the results next (a readback, the next chunk) is queued after it.
   */
  async #step(ids: readonly number[], head: PromptHead): Promise<void> {
    const { ctx, model } = this;
    const { device } = ctx;
    const seq = ids.length;
    const pos0 = this.length;
    writeTensor(model.ids, Uint32Array.from(ids));
    const act = model.activations(seq);
    const pick = typeof head === 'object' ? head : undefined;
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    let failure: unknown;
    let prompt: PromptGroups | undefined;
    try {
      const { groups } = (prompt = this.#promptGroups(seq, pos0, head, act));
      const after = pick && ((encoder: GPUCommandEncoder) => encoder.copyBufferToBuffer(this.#token.buffer, 0, pick.readback, 0, 4));
      groups.forEach((group, i) => ctx.submit(group, 'qwen3 step', i === groups.length - 1 ? after : undefined));
    } catch (err) {
      failure = err;
    }
    const oom = await device.popErrorScope();
    const validation = await device.popErrorScope();
    const error = oom ?? validation;
    // A chunk that failed is not replayed again: its recording (made now or earlier) goes.
    if ((failure || error) && prompt) {
      prompt.abandon?.();
      this.#prompts.forget(prompt.key);
    }
    if (failure) throw failure;
    if (error) throw new Error(`GPU error in qwen3 step: ${error.message}`);
    this.length = pos0 + seq;
  }

  /**
   * A chunk's command buffers, as encoders of passes (and the chunk's key in the recordings): replayed from its
   * recording where this row count, head and start (flash attention splits the keys of a chunk that starts before its
   * own length) were seen before (GpuModelOptions.promptRecordings), else encoded now; the first time a shape repeats,
   * each buffer is recorded and then replayed as it goes out, so the GPU starts on the first while the host records
   * the rest. `head` as in #step; sampling's settings and draw are patched into a replayed pick.
   */
  #promptGroups(seq: number, pos0: number, head: PromptHead, act: Activations): PromptGroups {
    const pick = typeof head === 'object' ? head : undefined;
    const key = `${seq} ${pos0 < seq ? 'from the start' : 'later'} ${pick ? (pick.sampling.temperature <= 0 ? 'greedy' : 'sampled') : head}`;
    const recorded = this.#prompts.take(key, act, pos0);
    if (recorded) {
      this.promptReplays++;
      if (pick) recorded.sample!.set(pick.sampling, pick.u);
      return { key, groups: recorded.lists.map((list) => (pass: GPUComputePassEncoder) => list.encode(pass)) };
    }
    const stages = this.model.stages(seq, pos0, head === 'all' ? 'all' : head === 'none' ? 'none' : 'last', this.model.ids, act);
    const record = this.#prompts.shouldRecord(key);
    const bounds = prefillGroups(stages.length, this.#prefillSubmits, record ? RECORDED_GROWTH : ENCODED_GROWTH);
    const last = bounds.length - 2;
    // Command buffer i of the chunk into `target`, collecting the position setters; the last one picks the next id.
    const encodeGroup = (target: DispatchTarget, i: number, setters: SetPosition[]): SampleStep | undefined => {
      if (i === 0) this.#markSeen.encode(target, { ids: this.model.ids, seen: this.#seen, seq });
      for (const stage of stages.slice(bounds[i], bounds[i + 1])) {
        const set = stage(target);
        if (set) setters.push(set);
      }
      if (i !== last || !pick) return undefined;
      this.#lmHead.encode(target, { x: act.a, w: this.weights.lmHead.parts, y: this.#logits, rows: 1 });
      return this.#sampler.encode(target, { logits: this.#logits, seen: this.#seen, out: this.#token, rowOffset: 0, sampling: pick.sampling, u: pick.u });
    };
    const groups = bounds.slice(1).map((_, i) => i);
    if (!record) return { key, groups: groups.map((i) => (pass: GPUComputePassEncoder) => void encodeGroup(pass, i, [])) };
    const setters: SetPosition[] = [];
    const lists: DispatchList[] = [];
    let kept = false;
    // Lists of a chunk that failed before all were recorded (after, forget() drops the recording).
    const abandon = () => {
      if (!kept) for (const list of lists) list.destroy();
    };
    return {
      key,
      abandon,
      groups: groups.map((i) => (pass: GPUComputePassEncoder) => {
        const list = new DispatchList(this.ctx, `qwen3 prompt (${key}) ${i}`, { kernelPipelines: true });
        lists.push(list);
        const sample = encodeGroup(list, i, setters);
        list.encode(pass);
        if (i < last) return;
        this.#prompts.put(key, act, { lists, setPosition: (p) => setters.forEach((set) => set(p)), sample });
        kept = true;
        this.promptsRecorded++;
      }),
    };
  }

  destroy(): void {
    this.#prompts.clear();
    this.model.destroy();
    for (const t of [this.#logits, this.#seen, this.#token]) t.destroy();
    for (const d of this.#decode.values()) d.list.destroy();
    this.#sampler.destroy();
    this.#readbacks.destroy();
  }
}
