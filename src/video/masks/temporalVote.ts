/**
 * Temporal smoothing of per-frame masks through the flow: each pixel of frame t votes with its own label and with
 * the labels of the pixels it flows to in frames t − 1 and t + 1 (nearest pixel, only along FB-valid flow). The
 * majority wins; a tie (one neighbour disagreeing, the other not available) keeps the pixel's own label. This removes
 * flicker that a single frame's flow produced without moving real edges (a neighbour's edge arrives through the flow).
 */
import { flowPlane, type HostFlows, validPlane } from './hostFlows';

/** The label of `mask` (0/255) at (x + u, y + v) rounded, or −1 outside the frame. */
function labelAt(mask: Uint8Array, width: number, height: number, x: number, y: number, u: number, v: number) {
  const nx = Math.round(x + u);
  const ny = Math.round(y + v);
  if (nx < 0 || ny < 0 || nx >= width || ny >= height) return -1;
  return mask[ny * width + nx] !== 0 ? 1 : 0;
}

export function temporalVote(masks: readonly Uint8Array[], flows: HostFlows): Uint8Array[] {
  const { width, height, pairs } = flows;
  const hw = width * height;
  if (masks.length !== pairs + 1) throw new RangeError(`${masks.length} masks for ${pairs + 1} frames`);
  return masks.map((own, t) => {
    const out = new Uint8Array(hw);
    const next = t < pairs ? { flow: flowPlane(flows, 'forward', t), valid: validPlane(flows, 'forward', t) } : null;
    const prev =
      t > 0 ? { flow: flowPlane(flows, 'backward', t - 1), valid: validPlane(flows, 'backward', t - 1) } : null;
    for (let k = 0; k < hw; k++) {
      const x = k % width;
      const y = (k - x) / width;
      const self = own[k] !== 0 ? 1 : 0;
      let votes = self;
      let count = 1;
      for (const [n, mask] of [
        [next, masks[t + 1]],
        [prev, masks[t - 1]],
      ] as const) {
        if (!n || n.valid[k] <= 0.5) continue;
        const l = labelAt(mask, width, height, x, y, n.flow[k], n.flow[hw + k]);
        if (l < 0) continue;
        votes += l;
        count++;
      }
      const share = votes / count;
      out[k] = share > 0.5 || (share === 0.5 && self === 1) ? 255 : 0;
    }
    return out;
  });
}
