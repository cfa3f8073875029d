/** Numbers baked into generated WGSL (for kernels whose uniform block is fixed, e.g. reduceToScalar's stage 1). */

/** The exact float32 value of v as a WGSL expression: `bitcast<f32>(0x…u)` (no decimal round trip). */
export function f32Literal(v: number): string {
  const bits = new Uint32Array(new Float32Array([v]).buffer)[0];
  return `bitcast<f32>(0x${bits.toString(16).padStart(8, '0')}u)`;
}
