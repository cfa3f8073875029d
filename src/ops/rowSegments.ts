/**
 * Row reductions for the row-wise ops (softmax, layerNorm): a 256-invocation workgroup handles 256/L rows with L
 * invocations per row (L a power of two from 32 to 256, about a quarter of the row width), and each row segment
 * reduces with a shared-memory tree. Narrow rows (attention's 50-wide ones, a small ViT's 32-wide tokens) then keep
 * every invocation busy and need few tree levels, while ViT-B's 768-wide rows get a whole workgroup each.
 */

import { paramsWgsl, storageWgsl } from './common';

/** Invocations per workgroup of the row kernels. */
export const ROW_WG = 256;

/** Invocations per row for rows of width C. */
export function lanesPerRow(C: number): number {
  let l = 32;
  while (l < ROW_WG && l * 4 < C) l *= 2;
  return l;
}

export interface SegmentReduction {
  /** WGSL function name: `name(t, v) -> type` gives every invocation of the row its row's total. */
  name: string;
  type: 'f32' | 'vec2<f32>';
  /** WGSL expression combining `a` and `b`. */
  combine: (a: string, b: string) => string;
}

/**
 * WGSL: the constants `LANES` and `ROWS_PER_WG`, `rowOf(wid, nwg, t)` (the row of invocation t in a launch of
 * rowSegmentGrid) and the given segmented reductions. Every invocation must call them (they hold barriers).
 */
export function rowSegmentsWgsl(lanes: number, reductions: readonly SegmentReduction[]): string {
  const types = [...new Set(reductions.map((r) => r.type))];
  const store = (type: string) => `seg_${type === 'f32' ? 'f32' : 'vec2f'}`;
  return /* wgsl */ `
const LANES = ${lanes}u;
const ROWS_PER_WG = ${ROW_WG / lanes}u;
${types.map((ty) => `var<workgroup> ${store(ty)}: array<${ty}, ${ROW_WG}>;`).join('\n')}
fn rowOf(wid: vec3u, nwg: vec3u, t: u32) -> u32 { return (wid.x + wid.y * nwg.x) * ROWS_PER_WG + t / LANES; }
${reductions
  .map(
    ({ name, type, combine }) => /* wgsl */ `
fn ${name}(t: u32, v: ${type}) -> ${type} {
  ${store(type)}[t] = v;
  workgroupBarrier();
  let lane = t % LANES;
  for (var s = LANES / 2u; s > 0u; s >>= 1u) {
    if (lane < s) { ${store(type)}[t] = ${combine(`${store(type)}[t]`, `${store(type)}[t + s]`)}; }
    workgroupBarrier();
  }
  let r = ${store(type)}[t - lane];
  workgroupBarrier();
  return r;
}`,
  )
  .join('\n')}`;
}

/** Workgroup counts for `rows` rows of width C, and the lanes per row (for rowSegmentsWgsl). */
export function rowSegmentLaunch(
  engine: { grid(n: number, wg: number): [number, number] },
  rows: number,
  C: number,
): { lanes: number; workgroups: [number, number] } {
  const lanes = lanesPerRow(C);
  return { lanes, workgroups: engine.grid(rows, ROW_WG / lanes) };
}

export interface RowKernel {
  /** Lanes per row (rowSegmentLaunch). */
  lanes: number;
  reductions: readonly SegmentReduction[];
  /** Uniform fields after `rows: u32, C: u32`. */
  fields?: string;
  /** Storage arrays (common.ts's storageWgsl names). */
  read: readonly string[];
  write: readonly string[];
  /**
   * The body of `main`, given `row`, `lane` (its invocation's lane in the row), `live` (row < p.rows) and `base`
   * (the row's first index, row·C). Every invocation runs it: the reductions hold barriers, so the body guards its
   * loads and stores with `live` instead of returning.
   */
  body: string;
}

/** WGSL of a row kernel launched with rowSegmentLaunch: one row segment of LANES invocations per row. */
export function rowKernelWgsl(k: RowKernel): string {
  return /* wgsl */ `${paramsWgsl(k.fields ? `rows: u32, C: u32, ${k.fields}` : 'rows: u32, C: u32')}
${storageWgsl(k.read, k.write)}
${rowSegmentsWgsl(k.lanes, k.reductions)}
@compute @workgroup_size(${ROW_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) t: u32) {
  let row = rowOf(wid, nwg, t);
  let lane = t % LANES;
  let live = row < p.rows;
  let base = row * p.C;
  ${k.body.trim()}
}`;
}
