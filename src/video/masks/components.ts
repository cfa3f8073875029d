/**
 * Connected components of masks: the object is 8-connected, the background 4-connected (the pairing under which
 * a hole is exactly a background region that the object encloses).
 */

export interface Components {
  /** Per pixel: the component index (0-based), or −1 off the labelled set. */
  labels: Int32Array;
  /** Pixels per component. */
  areas: number[];
  /** Whether the component reaches the frame's border. */
  touchesBorder: boolean[];
}

/** Components of the pixels where `member(k)` holds (flood fill with an explicit stack). */
export function labelComponents(
  width: number,
  height: number,
  member: (k: number) => boolean,
  connectivity: 4 | 8,
): Components {
  const n = width * height;
  const labels = new Int32Array(n).fill(-1);
  const areas: number[] = [];
  const touchesBorder: boolean[] = [];
  const stack = new Int32Array(n);
  const reach = connectivity === 8 ? 1 : 0;
  for (let seed = 0; seed < n; seed++) {
    if (labels[seed] !== -1 || !member(seed)) continue;
    const id = areas.length;
    let top = 0;
    let area = 0;
    let border = false;
    stack[top++] = seed;
    labels[seed] = id;
    while (top > 0) {
      const k = stack[--top];
      area++;
      const x = k % width;
      const y = (k - x) / width;
      if (x === 0 || y === 0 || x === width - 1 || y === height - 1) border = true;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          if ((dx === 0 && dy === 0) || (dx !== 0 && dy !== 0 && reach === 0)) continue;
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (labels[q] === -1 && member(q)) {
            labels[q] = id;
            stack[top++] = q;
          }
        }
      }
    }
    areas.push(area);
    touchesBorder.push(border);
  }
  return { labels, areas, touchesBorder };
}

/** The object's 8-connected components. */
export function objectComponents(mask: Uint8Array, width: number, height: number): Components {
  return labelComponents(width, height, (k) => mask[k] !== 0, 8);
}

/** The mask without the object components smaller than `minArea` pixels (0/255). */
export function removeSmallComponents(mask: Uint8Array, width: number, height: number, minArea: number): Uint8Array {
  const c = objectComponents(mask, width, height);
  return Uint8Array.from(c.labels, (l) => (l >= 0 && c.areas[l] >= minArea ? 255 : 0));
}

/**
 * The mask with its holes filled (0/255): background regions that do not reach the border and hold at most `maxArea`
 * pixels (default: any size).
 */
export function fillHoles(mask: Uint8Array, width: number, height: number, maxArea = Infinity): Uint8Array {
  const c = labelComponents(width, height, (k) => mask[k] === 0, 4);
  return Uint8Array.from(mask, (m, k) => {
    if (m !== 0) return 255;
    const l = c.labels[k];
    return !c.touchesBorder[l] && c.areas[l] <= maxArea ? 255 : 0;
  });
}
