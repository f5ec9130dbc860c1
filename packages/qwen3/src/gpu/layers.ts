// Qwen3's building blocks on the GPU, named as in the seed. Each is bound to its weights and kernel handles at
// construction and encodes into a pass or a DispatchList over a set of activations of a Qwen3Model:
// x [rows, hidden] the residual stream, a [rows, hidden] normalized, q [rows, nh, hd], attn [rows, nh·hd],
// mlp [rows, intermediate], qkv [rows, (nh + 2·nkv)·hd] the raw projections of a GEMM prefill, partials the key
// splits of attention (Attention.scratchSize(rows) f32). encode() returns the setter of the step's first position,
// so a recorded decode step replays at every position. A ResidualCarry hands o_proj's and down's k-split sums to the
// RMSNorm that follows (one pass fewer each, on prompts through matmul's GEMM).
import { storedF16Scale } from '@qwen3-webgpu/matmul';
import type { QkvRope } from '@qwen3-webgpu/qkv-rope';
import type { RmsNormF32 } from '@qwen3-webgpu/rmsnorm-f32';
import { adjacentRows, type DispatchTarget, type GpuContext, type RowPart, type SplitSums, type Tensor, type XSplit } from '@qwen3-webgpu/tensor';
import type { Qwen3Config, Qwen3LayerWeights, WeightTensor } from '@qwen3-webgpu/weights';
import { createLinear, type Attention, type Linear, type LinearArgs, type LinearOptions } from '../kernels/index.ts';

export interface Activations {
  x: Tensor;
  a: Tensor;
  q: Tensor;
  attn: Tensor;
  mlp: Tensor;
  qkv: Tensor;
  /** Partials of split keys: decode steps and flash-attention prompts split the keys with it. */
  partials: Tensor;
  /**
   * Where prompts run the tensor-core GEMM: a and attn as it reads them (GemmArgs.xSplit: xs and row exponents), written
   * by the RMSNorm before q|k|v and gate/up and by flash attention's merge before o_proj, so no GEMM splits them again.
   */
  aXs?: Tensor;
  aRowExp?: Tensor;
  attnXs?: Tensor;
  attnRowExp?: Tensor;
}

/** The split buffers a GEMM of `seq` rows takes as its x (LinearArgs.xSplit), where it takes one and they hold it. */
function splitFor(linear: Linear, seq: number, xs: Tensor | undefined, rowExp: Tensor | undefined): XSplit | undefined {
  const words = linear.splitXWords(seq);
  return xs && rowExp && words > 0 && xs.numel >= words && rowExp.numel >= seq ? { xs, rowExp } : undefined;
}

/** A weight entry for a view that replaces the loader's whole tensor (one part: the loader's was one too). */
const whole = (tensor: Tensor): WeightTensor => ({ tensor, parts: [{ rowStart: 0, rowCount: tensor.shape[0]!, tensor }] });

/** Which GEMM prefill projections take (LinearOptions.gemm). */
export type GemmChoice = 'auto' | 'fma' | 'tiled';
/** Which tensor-core kernel that GEMM runs (LinearOptions.tcVariant). */
export type TcVariant = NonNullable<LinearOptions['tcVariant']>;

/** Sets the position of a recorded step's first row. */
export type SetPosition = (pos0: number) => void;

/**
 * The residual add a stage leaves to the next RMSNorm: the k-split sums of the projection that adds into x (o_proj,
 * down), which that RMSNorm adds into x before normalizing it (RmsNormArgs.addSums). Stages that are given one leave
 * their sums in it (`leave`) and consume what it holds; x is complete only once the next RMSNorm has run.
 */
export interface ResidualCarry {
  sums?: SplitSums;
  /** false: the stage writes x whole (nothing follows to add the sums: the last layer of a chunk without a norm). */
  leave: boolean;
}

/** The sums `carry` holds, taken out of it (the RMSNorm about to run adds them), as RmsNormArgs. */
export function takeSums(carry: ResidualCarry | undefined): { addSums?: SplitSums } {
  const sums = carry?.sums;
  if (carry) delete carry.sums;
  return sums ? { addSums: sums } : {};
}

/** y += x · Wᵀ by `linear`, its k-split sums left in `carry` where it takes them. */
function encodeResidual(linear: Linear, target: DispatchTarget, args: LinearArgs, carry: ResidualCarry | undefined): void {
  if (carry?.leave) {
    const sums = linear.encodeDeferringSum(target, args);
    if (sums) carry.sums = sums;
  } else {
    linear.encode(target, args);
  }
}

/** RMSNormF32 → QKVRoPE (K/V into this layer's cache) → causal GQA attention → o_proj added to the residual. */
export class Qwen3AttentionSeparated {
  readonly oProj: Linear;
  /** Several rows on GPUs: q | k | v as one GEMM over the three weights, then qkv-rope's 'projected' epilogue. */
  readonly qkvProj: Linear;
  // The projection weights as encode passes them, taken from `w` (#adopt): the loader's views, or f16 views where
  // storeWeightsAsF16 re-encoded them (by this model or another on the same weights), with qkv-rope's wScale = 2^-s.
  #qkvParts: RowPart[] = [];
  #wq!: Tensor;
  #wk!: Tensor;
  #wv!: Tensor;
  #qkvScale = 1;
  #qkvFragments = false;

  constructor(
    readonly ctx: GpuContext,
    readonly config: Qwen3Config,
    readonly norm: RmsNormF32,
    readonly qkv: QkvRope,
    readonly attention: Attention,
    readonly w: Qwen3LayerWeights,
    /** [nkv, maxContext, hd] f32 each. */
    readonly kCache: Tensor,
    readonly vCache: Tensor,
    gemm: GemmChoice = 'auto',
    tcVariant: TcVariant = 'auto',
  ) {
    const { hiddenSize: h, numAttentionHeads: nh, numKeyValueHeads: nkv, headDim: hd } = config;
    const o = w['self_attn.o_proj'].tensor;
    this.oProj = createLinear(ctx, { n: h, k: nh * hd, dtype: o.dtype, accumulate: true, tag: 'o_proj', gemm, tcVariant });
    this.#adopt();
    this.qkvProj = createLinear(ctx, { n: (nh + 2 * nkv) * hd, k: h, dtype: this.#wq.dtype, tag: 'qkv', gemm, tcVariant });
  }

  #adopt(): void {
    const { w } = this;
    const { numAttentionHeads: nh, numKeyValueHeads: nkv, headDim: hd } = this.config;
    const [wq, wk, wv] = (['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'] as const).map((name) => w[name].tensor) as [Tensor, Tensor, Tensor];
    [this.#wq, this.#wk, this.#wv] = [wq, wk, wv];
    const stored = storedF16Scale(wq);
    this.#qkvScale = 2 ** -(stored ?? 0);
    this.#qkvFragments = stored !== undefined;
    // One part, one dispatch, where the loader packed q|k|v into one buffer; else (weights built by hand) three.
    // prepare() and encode() pass this same view: matmul's weight-range cache keys it by buffer and offset anyway.
    const packed = adjacentRows([wq, wk, wv]);
    this.#qkvParts =
      packed && packed.bindingSize <= this.ctx.limits.maxStorageBufferBindingSize
        ? [{ rowStart: 0, rowCount: (nh + 2 * nkv) * hd, tensor: packed }]
        : [
            { rowStart: 0, rowCount: nh * hd, tensor: wq },
            { rowStart: nh * hd, rowCount: nkv * hd, tensor: wk },
            { rowStart: (nh + nkv) * hd, rowCount: nkv * hd, tensor: wv },
          ];
  }

  get #oParts(): RowPart[] {
    return this.w['self_attn.o_proj'].parts;
  }

  /** The weights its GEMMs read (checked for the tensor cores in one batch by Qwen3Model.prepare). */
  gemmWeights(): Tensor[] {
    return [...this.#qkvParts, ...this.#oParts].map((p) => p.tensor);
  }

  /** Checks the projections' weights for the tensor-core GEMM (Linear.prepare). */
  async prepare(): Promise<void> {
    await this.qkvProj.prepare(this.#qkvParts);
    await this.oProj.prepare(this.#oParts);
  }

  /**
   * Re-encodes q | k | v and o_proj in place as f16 · 2^s where their GEMM is the tensor-core f16w kernel
   * (Linear.storeAsF16), and puts the f16 views into the layer's weights (so later models on them start from those);
   * returns how many weight tensors now are.
   */
  async storeWeightsAsF16(): Promise<number> {
    const { numAttentionHeads: nh, numKeyValueHeads: nkv, headDim: hd } = this.config;
    let count = 0;
    const [qkv] = this.#qkvParts;
    const stored = this.#qkvParts.length === 1 && qkv ? await this.qkvProj.storeAsF16(qkv.tensor) : undefined;
    if (stored) {
      this.w['self_attn.q_proj'] = whole(stored.w.rows(0, nh * hd));
      this.w['self_attn.k_proj'] = whole(stored.w.rows(nh * hd, nkv * hd));
      this.w['self_attn.v_proj'] = whole(stored.w.rows((nh + nkv) * hd, nkv * hd));
      count += 3;
    }
    const [o] = this.#oParts;
    const storedO = this.#oParts.length === 1 && o ? await this.oProj.storeAsF16(o.tensor) : undefined;
    if (storedO) {
      this.w['self_attn.o_proj'] = whole(storedO.w);
      count++;
    }
    this.#adopt();
    return count;
  }

  /** `direct`: a decode step recorded for short contexts (AttentionArgs.direct; see Attention.directDecodeKeys). */
  encode(target: DispatchTarget, t: Activations, seq: number, pos0: number, direct = false, carry?: ResidualCarry): SetPosition {
    const { w } = this;
    // Prefill on GPUs: the projection on matmul's GEMM (tensor cores or register tiles), QK-norm + RoPE after it.
    const gemmPrefill = seq > 1 && this.qkvProj.gemmPath !== 'tiled';
    const normSplit = gemmPrefill ? splitFor(this.qkvProj, seq, t.aXs, t.aRowExp) : undefined;
    this.norm.encode(target, { x: t.x, w: w.input_layernorm.tensor, y: t.a, rows: seq, ...(normSplit ? { split: normSplit } : {}), ...takeSums(carry) });
    if (gemmPrefill) this.qkvProj.encode(target, { x: t.a, w: this.#qkvParts, y: t.qkv, rows: seq, ...(normSplit ? { xSplit: normSplit } : {}) });
    // Decode steps on the grouped attention kernel take q and the new key raw and normalize + rotate them there.
    const qNorm = w['self_attn.q_norm'].tensor;
    const kNorm = w['self_attn.k_norm'].tensor;
    const fused = qNorm.dtype === kNorm.dtype && this.attention.fusesQkNormRope(seq, qNorm.dtype);
    const qkvAt = this.qkv.encode(target, {
      x: gemmPrefill ? t.qkv : t.a,
      wq: this.#wq,
      wk: this.#wk,
      wv: this.#wv,
      wScale: this.#qkvScale,
      wFragments: this.#qkvFragments,
      qNorm,
      kNorm,
      q: t.q,
      k: this.kCache,
      v: this.vCache,
      kvLayout: 'cache',
      seq,
      position: pos0,
      ...(fused ? { path: 'decode-projection' as const } : gemmPrefill ? { path: 'projected' as const } : {}),
    });
    // Prompts on flash attention hand o_proj's tensor-core GEMM its input split (no row-scale pass).
    const xSplit = this.attention.writesSplitX(seq, t.partials) ? splitFor(this.oProj, seq, t.attnXs, t.attnRowExp) : undefined;
    const attentionAt = this.attention.encode(target, {
      q: t.q,
      kCache: this.kCache,
      vCache: this.vCache,
      out: t.attn,
      seq,
      pos0,
      scratch: t.partials,
      ...(fused ? { qkNorm: { qNorm, kNorm, rope: this.qkv.rope } } : {}),
      ...(xSplit ? { xSplit } : {}),
      ...(direct ? { direct } : {}),
    });
    encodeResidual(this.oProj, target, { x: t.attn, w: this.#oParts, y: t.x, rows: seq, ...(xSplit ? { xSplit } : {}) }, carry);
    return (p) => {
      qkvAt(p);
      attentionAt(p);
    };
  }
}

/** RMSNormF32 → silu(gate) ⊙ up → down added to the residual. */
export class Qwen3MLP {
  readonly gateUp: Linear;
  readonly down: Linear;

  constructor(
    readonly ctx: GpuContext,
    readonly config: Qwen3Config,
    readonly norm: RmsNormF32,
    readonly w: Qwen3LayerWeights,
    gemm: GemmChoice = 'auto',
    tcVariant: TcVariant = 'auto',
  ) {
    const { hiddenSize: h, intermediateSize: inter } = config;
    this.gateUp = createLinear(ctx, { n: inter, k: h, dtype: w['mlp.gate_proj'].tensor.dtype, swiglu: true, tag: 'gate_up', gemm, tcVariant });
    this.down = createLinear(ctx, { n: h, k: inter, dtype: w['mlp.down_proj'].tensor.dtype, accumulate: true, tag: 'down', gemm, tcVariant });
  }

  /** The weights its GEMMs read (see Qwen3AttentionSeparated.gemmWeights). */
  gemmWeights(): Tensor[] {
    const { w } = this;
    return [w['mlp.gate_proj'].tensor, w['mlp.up_proj'].tensor, ...w['mlp.down_proj'].parts.map((p) => p.tensor)];
  }

  /** Checks the projections' weights for the tensor-core GEMM (Linear.prepare). */
  async prepare(): Promise<void> {
    await this.gateUp.prepare(this.w['mlp.gate_proj'].tensor, this.w['mlp.up_proj'].tensor);
    await this.down.prepare(this.w['mlp.down_proj'].parts);
  }

  /** As Qwen3AttentionSeparated.storeWeightsAsF16: gate and up (both or neither), down. */
  async storeWeightsAsF16(): Promise<number> {
    const { w } = this;
    let count = 0;
    const stored = await this.gateUp.storeAsF16(w['mlp.gate_proj'].tensor, w['mlp.up_proj'].tensor);
    if (stored?.w2) {
      [w['mlp.gate_proj'], w['mlp.up_proj']] = [whole(stored.w), whole(stored.w2)];
      count += 2;
    }
    const [down] = w['mlp.down_proj'].parts;
    const storedDown = w['mlp.down_proj'].parts.length === 1 && down ? await this.down.storeAsF16(down.tensor) : undefined;
    if (storedDown) {
      w['mlp.down_proj'] = whole(storedDown.w);
      count++;
    }
    return count;
  }

  encode(target: DispatchTarget, t: Activations, seq: number, carry?: ResidualCarry): void {
    const split = splitFor(this.gateUp, seq, t.aXs, t.aRowExp);
    this.norm.encode(target, { x: t.x, w: this.w.post_attention_layernorm.tensor, y: t.a, rows: seq, ...(split ? { split } : {}), ...takeSums(carry) });
    const { w } = this;
    this.gateUp.encode(target, { x: t.a, w: w['mlp.gate_proj'].tensor, w2: w['mlp.up_proj'].tensor, y: t.mlp, rows: seq, ...(split ? { xSplit: split } : {}) });
    encodeResidual(this.down, target, { x: t.mlp, w: w['mlp.down_proj'].parts, y: t.x, rows: seq }, carry);
  }
}

/** One decoder layer: attention block, then MLP block, each with its residual. */
export class Qwen3DecoderLayerSeparated {
  constructor(
    readonly attention: Qwen3AttentionSeparated,
    readonly mlp: Qwen3MLP,
  ) {}

  encode(target: DispatchTarget, t: Activations, seq: number, pos0: number, direct = false): SetPosition {
    // x whole at the end: o_proj's sums (if any) go to the MLP's RMSNorm, down writes x itself.
    const carry: ResidualCarry | undefined = this.attention.config.hiddenSize % 4 === 0 ? { leave: true } : undefined;
    const at = this.attention.encode(target, t, seq, pos0, direct, carry);
    if (carry) carry.leave = false;
    this.mlp.encode(target, t, seq, carry);
    return at;
  }
}
