/** Scalar types a uniform field may have. Every field is 4 bytes, so the WGSL struct has no padding inside. */
export type UniformType = 'u32' | 'i32' | 'f32';

export interface UniformLayout<F extends string = string> {
  readonly fields: readonly { readonly name: F; readonly type: UniformType }[];
  /** Struct size rounded up to 16 bytes, as WGSL lays out a uniform struct. */
  readonly byteSize: number;
  /** Packs values in field order; rejects missing, non-finite or out-of-range values, naming the field. */
  pack(values: Readonly<Record<F, number>>): ArrayBuffer;
  /** As pack(), into `view` at byte `offset` (a slot of a uniform arena): nothing allocated per call. */
  packInto(view: DataView, offset: number, values: Readonly<Record<F, number>>): void;
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
      this.packInto(new DataView(buf), 0, values);
      return buf;
    },
    packInto(view, offset, values) {
      for (let i = 0; i < fields.length; i++) {
        const { name, type } = fields[i]!;
        const v = values[name];
        if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`uniform '${name}' (${type}) is missing or NaN`);
        if (type === 'f32') {
          view.setFloat32(offset + i * 4, v, true);
          continue;
        }
        const u32 = type === 'u32';
        if (!Number.isInteger(v) || v < (u32 ? 0 : -(2 ** 31)) || v > (u32 ? 2 ** 32 - 1 : 2 ** 31 - 1))
          throw new RangeError(`uniform '${name}' must be a ${type}, got ${v}`);
        if (u32) view.setUint32(offset + i * 4, v, true);
        else view.setInt32(offset + i * 4, v, true);
      }
    },
  };
}
