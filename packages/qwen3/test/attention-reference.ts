// The float64 specification the attention kernels are tested against (kernels.test.ts, attention-flash.test.ts) and
// benchmarked on (bench/attention-flash.device.ts).
import { reference } from '@qwen3-webgpu/tensor';

/**
 * Causal GQA attention in float64: row t at position pos0 + t sees keys 0 … pos0 + t of kv head h / (nh / nkv).
 * `rows`: only these rows are computed (the others stay 0), for prompts too long to check whole.
 */
export function attentionReference(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  seq: number,
  pos0: number,
  nh: number,
  nkv: number,
  hd: number,
  capacity: number,
  rows: Iterable<number> = Array.from({ length: seq }, (_, t) => t),
): Float64Array {
  const want = new Float64Array(seq * nh * hd);
  for (const t of rows) {
    for (let h = 0; h < nh; h++) {
      const g = Math.floor(h / (nh / nkv));
      const n = pos0 + t + 1;
      const s = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        let d = 0;
        for (let i = 0; i < hd; i++) d += q[(t * nh + h) * hd + i]! * k[(g * capacity + j) * hd + i]!;
        s[j] = d / Math.sqrt(hd);
      }
      const p = reference.softmax(s, 1, n);
      for (let j = 0; j < n; j++) for (let i = 0; i < hd; i++) want[(t * nh + h) * hd + i]! += p[j]! * v[(g * capacity + j) * hd + i]!;
    }
  }
  return want;
}
