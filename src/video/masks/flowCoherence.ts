/**
 * How fast a flow varies: |∇f| = √(|∇u|² + |∇v|²) per pixel (central differences, borders replicated), in px of flow
 * per px. A rigid part moving, turning or scaling by a few per cent per frame keeps it below ~0.05; it is large where
 * two motions meet (the smoothed band at an object's edge) and where the flow follows no surface (reflections on
 * rippling water, the wake behind a swimmer), which is why the motion masks grow only from coherent pixels.
 */
export function flowGradientMagnitude(flow: Float32Array, width: number, height: number): Float32Array {
  const hw = width * height;
  const out = new Float32Array(hw);
  for (let y = 0; y < height; y++) {
    const up = Math.max(0, y - 1) * width;
    const down = Math.min(height - 1, y + 1) * width;
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const left = Math.max(0, x - 1);
      const right = Math.min(width - 1, x + 1);
      let g2 = 0;
      for (let c = 0; c < 2; c++) {
        const plane = c * hw;
        const dx = 0.5 * (flow[plane + row + right] - flow[plane + row + left]);
        const dy = 0.5 * (flow[plane + down + x] - flow[plane + up + x]);
        g2 += dx * dx + dy * dy;
      }
      out[row + x] = Math.sqrt(g2);
    }
  }
  return out;
}
