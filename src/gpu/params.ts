/** Builds a uniform block of 4-byte scalars in declaration order (WGSL structs of u32/i32/f32 fields). */
export class Params {
  private readonly words: number[] = [];
  private readonly kinds: Array<'u' | 'i' | 'f'> = [];

  u32(v: number): this {
    this.words.push(v >>> 0);
    this.kinds.push('u');
    return this;
  }

  i32(v: number): this {
    this.words.push(v | 0);
    this.kinds.push('i');
    return this;
  }

  f32(v: number): this {
    this.words.push(v);
    this.kinds.push('f');
    return this;
  }

  /** Bytes, padded to a multiple of 16 as uniform blocks require. */
  toBytes(): ArrayBuffer {
    const n = Math.max(4, Math.ceil(this.words.length / 4) * 4);
    const buf = new ArrayBuffer(n * 4);
    const u = new Uint32Array(buf);
    const i = new Int32Array(buf);
    const f = new Float32Array(buf);
    this.words.forEach((w, k) => {
      if (this.kinds[k] === 'f') f[k] = w;
      else if (this.kinds[k] === 'i') i[k] = w;
      else u[k] = w;
    });
    return buf;
  }
}
