// The CPU backend: Qwen3's forward pass in plain TypeScript over f32 weights, with float64 arithmetic (JS numbers)
// through the tensor package's reference ops. HF semantics (ARCHITECTURE.md, "Numerics"); KV cache on the host.
import { reference } from '@qwen3-webgpu/tensor';
import { checkFiniteRow } from '../non-finite.ts';
import { sampleToken, type ResolvedSampling } from '../sampling.ts';
import type { TokenBackend } from '../generate.ts';
import { defaultMaxContext } from '../max-context.ts';
import type { CpuWeights } from './weights.ts';

export interface CpuForwardResult {
  /** [seq, vocab] logits of every input row. */
  logits: Float32Array;
  /** With `hiddenStates`: the residual stream after the embedding and after each layer, each [seq, hidden]. */
  hiddenStates?: Float32Array[];
}

/**
 * A deliberate error in the forward pass, for tools that must show a wrong model fails (apps/parity):
 * 'k-norm-sign' negates k_norm's first weight in fromLayer only; 'interleaved-rope' rotates pairs (2i, 2i + 1) instead
 * of (i, i + hd/2) and 'no-qk-norm' skips Qwen3's per-head q/k RMSNorm, both from fromLayer on.
 */
export interface CpuModelFault {
  kind: 'k-norm-sign' | 'interleaved-rope' | 'no-qk-norm';
  fromLayer: number;
}

export class CpuQwen3Model implements TokenBackend {
  readonly maxContext: number;
  readonly fault: CpuModelFault | undefined;
  /** Per layer: K and V caches [nkv, maxContext, hd]. */
  readonly #k: Float32Array[];
  readonly #v: Float32Array[];
  /** Positions already in the cache. */
  length = 0;

  constructor(
    readonly weights: CpuWeights,
    options: { maxContext?: number; fault?: CpuModelFault } = {},
  ) {
    this.fault = options.fault;
    const c = weights.config;
    this.maxContext = options.maxContext ?? defaultMaxContext(c);
    const size = c.numKeyValueHeads * this.maxContext * c.headDim;
    this.#k = Array.from({ length: c.numHiddenLayers }, () => new Float32Array(size));
    this.#v = Array.from({ length: c.numHiddenLayers }, () => new Float32Array(size));
  }

  /** Tokens seen in the context (repetition / presence penalties). */
  readonly #seen = new Set<number>();

  get vocabSize(): number {
    return this.weights.config.vocabSize;
  }

  /** Forgets the cached context. */
  reset(): void {
    this.length = 0;
    this.#seen.clear();
  }

  async next(ids: readonly number[], sampling: ResolvedSampling, u: number): Promise<number> {
    const { logits } = this.forward(ids);
    for (const id of ids) this.#seen.add(id);
    const vocab = this.vocabSize;
    const row = logits.subarray((ids.length - 1) * vocab);
    checkFiniteRow(row, this.length - 1);
    return sampleToken(row, (i) => this.#seen.has(i), sampling, u);
  }

  /** Runs `ids` at positions length … length + seq − 1, appending to the KV cache. */
  forward(ids: readonly number[], options: { hiddenStates?: boolean } = {}): CpuForwardResult {
    const c = this.weights.config;
    const seq = ids.length;
    const { hiddenSize: h, headDim: hd, numAttentionHeads: nh, numKeyValueHeads: nkv } = c;
    const pos0 = this.length;
    if (seq === 0) throw new RangeError('forward needs at least one token');
    if (pos0 + seq > this.maxContext) throw new RangeError(`${pos0 + seq} positions exceed the KV cache (max context ${this.maxContext})`);
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) throw new RangeError(`token id ${id} is outside the vocabulary [0, ${c.vocabSize})`);
    }
    const x = new Float64Array(seq * h);
    ids.forEach((id, t) => x.set(this.weights.embedTokens.subarray(id * h, (id + 1) * h), t * h));
    const hidden: Float32Array[] = options.hiddenStates ? [Float32Array.from(x)] : [];
    const positions = Array.from({ length: seq }, (_, t) => pos0 + t);
    const group = nh / nkv;
    const scale = 1 / Math.sqrt(hd);

    this.weights.layers.forEach((w, l) => {
      // Attention block.
      const a = reference.rmsnorm(x, w.input_layernorm, seq, h, c.rmsNormEps);
      const qRaw = reference.matmulT(a, w['self_attn.q_proj'], seq, nh * hd, h);
      const kRaw = reference.matmulT(a, w['self_attn.k_proj'], seq, nkv * hd, h);
      const v = reference.matmulT(a, w['self_attn.v_proj'], seq, nkv * hd, h);
      const fault = this.fault && l >= this.fault.fromLayer ? this.fault.kind : undefined;
      const rope = fault === 'interleaved-rope' ? reference.ropeInterleaved : reference.rope;
      let kNormW = w['self_attn.k_norm'];
      if (fault === 'k-norm-sign' && l === this.fault!.fromLayer) (kNormW = Float32Array.from(kNormW))[0]! *= -1;
      const qkNorm = (raw: Float64Array, weight: Float32Array, rows: number) =>
        fault === 'no-qk-norm' ? raw : reference.rmsnorm(raw, weight, rows, hd, c.rmsNormEps);
      const q = rope(qkNorm(qRaw, w['self_attn.q_norm'], seq * nh), positions, seq, nh, hd, c.ropeTheta);
      const k = rope(qkNorm(kRaw, kNormW, seq * nkv), positions, seq, nkv, hd, c.ropeTheta);
      const kCache = this.#k[l]!;
      const vCache = this.#v[l]!;
      for (let t = 0; t < seq; t++) {
        for (let g = 0; g < nkv; g++) {
          const at = (g * this.maxContext + pos0 + t) * hd;
          kCache.set(k.subarray((t * nkv + g) * hd, (t * nkv + g + 1) * hd), at);
          vCache.set(v.subarray((t * nkv + g) * hd, (t * nkv + g + 1) * hd), at);
        }
      }
      const attn = new Float64Array(seq * nh * hd);
      for (let t = 0; t < seq; t++) {
        const n = pos0 + t + 1; // causal: keys 0 … pos0 + t
        for (let head = 0; head < nh; head++) {
          const g = Math.floor(head / group);
          const qv = q.subarray((t * nh + head) * hd, (t * nh + head + 1) * hd);
          const scores = new Float64Array(n);
          for (let j = 0; j < n; j++) {
            const kv = kCache.subarray((g * this.maxContext + j) * hd, (g * this.maxContext + j + 1) * hd);
            let s = 0;
            for (let i = 0; i < hd; i++) s += qv[i]! * kv[i]!;
            scores[j] = s * scale;
          }
          const p = reference.softmax(scores, 1, n);
          const out = attn.subarray((t * nh + head) * hd, (t * nh + head + 1) * hd);
          for (let j = 0; j < n; j++) {
            const vv = vCache.subarray((g * this.maxContext + j) * hd, (g * this.maxContext + j + 1) * hd);
            for (let i = 0; i < hd; i++) out[i]! += p[j]! * vv[i]!;
          }
        }
      }
      const o = reference.matmulT(attn, w['self_attn.o_proj'], seq, h, nh * hd);
      for (let i = 0; i < x.length; i++) x[i]! += o[i]!;

      // MLP block.
      const m = reference.rmsnorm(x, w.post_attention_layernorm, seq, h, c.rmsNormEps);
      const gate = reference.silu(reference.matmulT(m, w['mlp.gate_proj'], seq, c.intermediateSize, h));
      const up = reference.matmulT(m, w['mlp.up_proj'], seq, c.intermediateSize, h);
      for (let i = 0; i < gate.length; i++) gate[i]! *= up[i]!;
      const down = reference.matmulT(gate, w['mlp.down_proj'], seq, h, c.intermediateSize);
      for (let i = 0; i < x.length; i++) x[i]! += down[i]!;
      if (options.hiddenStates) hidden.push(Float32Array.from(x));
    });

    const final = reference.rmsnorm(x, this.weights.norm, seq, h, c.rmsNormEps);
    const logits = Float32Array.from(reference.matmulT(final, this.weights.lmHead, seq, c.vocabSize, h));
    this.length = pos0 + seq;
    return options.hiddenStates ? { logits, hiddenStates: hidden } : { logits };
  }
}
