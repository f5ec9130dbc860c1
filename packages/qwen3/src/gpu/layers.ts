// Qwen3's building blocks on the GPU, named as in the seed. Each is bound to its weights and kernel handles at
// construction and encodes into a pass or a DispatchList over a set of activations of a Qwen3Model:
// x [rows, hidden] the residual stream, a [rows, hidden] normalized, q [rows, nh, hd], attn [rows, nh·hd],
// mlp [rows, intermediate], qkv [rows, (nh + 2·nkv)·hd] the raw projections of a GEMM prefill, partials the key
// splits of attention (Attention.scratchSize(rows) f32). encode() returns the setter of the step's first position,
// so a recorded decode step replays at every position.
import type { QkvRope } from '@qwen3-webgpu/qkv-rope';
import type { RmsNormF32 } from '@qwen3-webgpu/rmsnorm-f32';
import { adjacentRows, type DispatchTarget, type GpuContext, type RowPart, type Tensor } from '@qwen3-webgpu/tensor';
import type { Qwen3Config, Qwen3LayerWeights } from '@qwen3-webgpu/weights';
import { createLinear, type Attention, type Linear, type LinearOptions } from '../kernels/index.ts';

export interface Activations {
  x: Tensor;
  a: Tensor;
  q: Tensor;
  attn: Tensor;
  mlp: Tensor;
  qkv: Tensor;
  /** Partials of split keys: decode steps and flash-attention prompts split the keys with it. */
  partials: Tensor;
}

/** Which GEMM prefill projections take (LinearOptions.gemm). */
export type GemmChoice = 'auto' | 'fma' | 'tiled';
/** Which tensor-core kernel that GEMM runs (LinearOptions.tcVariant). */
export type TcVariant = NonNullable<LinearOptions['tcVariant']>;

/** Sets the position of a recorded step's first row. */
export type SetPosition = (pos0: number) => void;

/** RMSNormF32 → QKVRoPE (K/V into this layer's cache) → causal GQA attention → o_proj added to the residual. */
export class Qwen3AttentionSeparated {
  readonly oProj: Linear;
  /** Several rows on GPUs: q | k | v as one GEMM over the three weights, then qkv-rope's 'projected' epilogue. */
  readonly qkvProj: Linear;
  readonly #qkvParts: RowPart[];

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
    const [wq, wk, wv] = (['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'] as const).map((name) => w[name].tensor) as [Tensor, Tensor, Tensor];
    // One part, one dispatch, where the loader packed q|k|v into one buffer; else (weights built by hand) three.
    // prepare() and encode() pass this same view: matmul's weight-range cache keys it by buffer and offset anyway.
    const packed = adjacentRows([wq, wk, wv]);
    this.#qkvParts =
      packed && packed.bindingSize <= ctx.limits.maxStorageBufferBindingSize
        ? [{ rowStart: 0, rowCount: (nh + 2 * nkv) * hd, tensor: packed }]
        : [
            { rowStart: 0, rowCount: nh * hd, tensor: wq },
            { rowStart: nh * hd, rowCount: nkv * hd, tensor: wk },
            { rowStart: (nh + nkv) * hd, rowCount: nkv * hd, tensor: wv },
          ];
    this.qkvProj = createLinear(ctx, { n: (nh + 2 * nkv) * hd, k: h, dtype: wq.dtype, tag: 'qkv', gemm, tcVariant });
  }

  /** The weights its GEMMs read (checked for the tensor cores in one batch by Qwen3Model.prepare). */
  gemmWeights(): Tensor[] {
    return [...this.#qkvParts, ...this.w['self_attn.o_proj'].parts].map((p) => p.tensor);
  }

  /** Checks the projections' weights for the tensor-core GEMM (Linear.prepare). */
  async prepare(): Promise<void> {
    await this.qkvProj.prepare(this.#qkvParts);
    await this.oProj.prepare(this.w['self_attn.o_proj'].parts);
  }

  encode(target: DispatchTarget, t: Activations, seq: number, pos0: number): SetPosition {
    const { w } = this;
    this.norm.encode(target, { x: t.x, w: w.input_layernorm.tensor, y: t.a, rows: seq });
    // Prefill on GPUs: the projection on matmul's GEMM (tensor cores or register tiles), QK-norm + RoPE after it.
    const gemmPrefill = seq > 1 && this.qkvProj.gemmPath !== 'tiled';
    if (gemmPrefill) this.qkvProj.encode(target, { x: t.a, w: this.#qkvParts, y: t.qkv, rows: seq });
    // Decode steps on the grouped attention kernel take q and the new key raw and normalize + rotate them there.
    const qNorm = w['self_attn.q_norm'].tensor;
    const kNorm = w['self_attn.k_norm'].tensor;
    const fused = qNorm.dtype === kNorm.dtype && this.attention.fusesQkNormRope(seq, qNorm.dtype);
    const qkvAt = this.qkv.encode(target, {
      x: gemmPrefill ? t.qkv : t.a,
      wq: w['self_attn.q_proj'].tensor,
      wk: w['self_attn.k_proj'].tensor,
      wv: w['self_attn.v_proj'].tensor,
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
    const attentionAt = this.attention.encode(target, {
      q: t.q,
      kCache: this.kCache,
      vCache: this.vCache,
      out: t.attn,
      seq,
      pos0,
      scratch: t.partials,
      ...(fused ? { qkNorm: { qNorm, kNorm, rope: this.qkv.rope } } : {}),
    });
    this.oProj.encode(target, { x: t.attn, w: w['self_attn.o_proj'].parts, y: t.x, rows: seq });
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
    return [this.w['mlp.gate_proj'].tensor, this.w['mlp.up_proj'].tensor, ...this.w['mlp.down_proj'].parts.map((p) => p.tensor)];
  }

  /** Checks the projections' weights for the tensor-core GEMM (Linear.prepare). */
  async prepare(): Promise<void> {
    await this.gateUp.prepare(this.w['mlp.gate_proj'].tensor, this.w['mlp.up_proj'].tensor);
    await this.down.prepare(this.w['mlp.down_proj'].parts);
  }

  encode(target: DispatchTarget, t: Activations, seq: number): void {
    this.norm.encode(target, { x: t.x, w: this.w.post_attention_layernorm.tensor, y: t.a, rows: seq });
    this.gateUp.encode(target, { x: t.a, w: this.w['mlp.gate_proj'].tensor, w2: this.w['mlp.up_proj'].tensor, y: t.mlp, rows: seq });
    this.down.encode(target, { x: t.mlp, w: this.w['mlp.down_proj'].parts, y: t.x, rows: seq });
  }
}

/** One decoder layer: attention block, then MLP block, each with its residual. */
export class Qwen3DecoderLayerSeparated {
  constructor(
    readonly attention: Qwen3AttentionSeparated,
    readonly mlp: Qwen3MLP,
  ) {}

  encode(target: DispatchTarget, t: Activations, seq: number, pos0: number): SetPosition {
    const at = this.attention.encode(target, t, seq, pos0);
    this.mlp.encode(target, t, seq);
    return at;
  }
}
