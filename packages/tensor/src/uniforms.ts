/** Scalar types a uniform field may have. Every field is 4 bytes, so the WGSL struct has no padding inside. */
export type UniformType = 'u32' | 'i32' | 'f32';

export interface UniformLayout<F extends string = string> {
  readonly fields: readonly { readonly name: F; readonly type: UniformType }[];
  /** Struct size rounded up to 16 bytes, as WGSL lays out a uniform struct. */
  readonly byteSize: number;
  /** Packs values in field order; rejects missing, non-finite or out-of-range values, naming the field. */
  pack(values: Readonly<Record<F, number>>): ArrayBuffer;
}

/**
 * Declares a uniform block once. The WGSL struct must list the same fields in the same order with the same types;
 * defineKernel checks that against the shader source.
 */
export function defineUniforms<F extends string>(spec: Readonly<Record<F, UniformType>>): UniformLayout<F> {
  const fields = (Object.keys(spec) as F[]).map((name) => ({ name, type: spec[name] }));
  const byteSize = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  return {
    fields,
    byteSize,
    pack(values) {
      const buf = new ArrayBuffer(byteSize);
      const view = new DataView(buf);
      fields.forEach(({ name, type }, i) => {
        const v = values[name];
        if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`uniform '${name}' (${type}) is missing or NaN`);
        if (type === 'f32') return view.setFloat32(i * 4, v, true);
        const [lo, hi] = type === 'u32' ? [0, 2 ** 32 - 1] : [-(2 ** 31), 2 ** 31 - 1];
        if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`uniform '${name}' must be a ${type}, got ${v}`);
        if (type === 'u32') view.setUint32(i * 4, v, true);
        else view.setInt32(i * 4, v, true);
      });
      return buf;
    },
  };
}
