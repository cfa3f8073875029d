/**
 * Batched GEMM (matmul, linear) with one tiled kernel that every forward and backward product goes
 * through. The kernel computes, per output batch z,
 *
 *   C_z[M,N] = α · Σ_{kb < kbCount} op(A_{z,kb})[M,K] · op(B_{z,kb})[K,N]  (+ bias[N])
 *
 * where op() is an optional transpose read straight from memory (no materialised transposes) and the
 * kb sum lets a weight gradient reduce over a batch whose layout cannot be flattened into K.
 *
 * Tiling: a 64×64 output tile per workgroup, 16×16 invocations each owning a 4×4 register block,
 * K-step 16. A and B tiles are staged in workgroup memory as vec4 rows, 2 × 16 × 64 × 4 B = 8 KiB,
 * and the next K-tile is prefetched into registers while the current one is multiplied. Operands whose
 * contiguous dimension (and batch strides) are multiples of 4 are bound as `array<vec4<f32>>` and
 * loaded 16 bytes at a time; the output is stored as vec4 when N is a multiple of 4.
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertSameEngine } from './common';
import { columnSum } from './layernorm';

/** Output tile edge (rows and columns) of one workgroup. */
export const GEMM_TILE = 64;
/** K-step: depth of the A/B tiles staged in workgroup memory. */
export const GEMM_KSTEP = 16;

/** One GEMM operand as stored in memory. */
interface Operand {
  t: Tensor;
  /** True when the logical [rows, cols] operand is stored transposed ([cols, rows], row-major). */
  trans: boolean;
  /** Row stride of the stored matrix (elements). */
  ld: number;
  /** Offset between output batches (elements); 0 broadcasts the operand. */
  batchStride: number;
  /** Offset between the kb-summed batches (elements). */
  kbStride: number;
}

interface GemmSpec {
  name: string;
  a: Operand;
  b: Operand;
  M: number;
  N: number;
  K: number;
  /** Output batches (workgroup z). */
  batch: number;
  /** Products summed into each output (≥ 1). */
  kbCount?: number;
  bias?: Tensor | null;
  alpha?: number;
  outShape: readonly number[];
}

function vecOk(o: Operand): boolean {
  return o.ld % 4 === 0 && o.batchStride % 4 === 0 && o.kbStride % 4 === 0;
}

/** `body(j)` for j = 0..3, joined: unrolls a 4-wide loop in generated WGSL. */
function unroll4(body: (j: number) => string, sep = '\n'): string {
  return [0, 1, 2, 3].map(body).join(sep);
}

const COMP = ['x', 'y', 'z', 'w'];

/**
 * WGSL for one GEMM variant. `tA`/`tB`: operand stored transposed; `vA`/`vB`/`vC`: bind as vec4;
 * `bias`: add bias[n] in the epilogue. Every 4-wide loop is unrolled in the generated code.
 */
export function gemmWgsl(tA: boolean, tB: boolean, vA: boolean, vB: boolean, vC: boolean, bias: boolean): string {
  const T = GEMM_TILE;
  const KS = GEMM_KSTEP;
  const Q = T / 4; // vec4 columns per tile row (16)
  const elemA = vA ? 'vec4<f32>' : 'f32';
  const elemB = vB ? 'vec4<f32>' : 'f32';
  const elemC = vC ? 'vec4<f32>' : 'f32';
  const cBinding = bias ? 4 : 3;

  // Each invocation loads 4 consecutive elements of the operand's contiguous dimension per K-tile.
  // K contiguous (A not transposed, B transposed): invocation t takes tile row r = t / 4 (an m or n
  // index) and k-quad t % 4, so 4 neighbours read one 64-byte row segment. M/N contiguous: invocation
  // t takes k row t / 16 and m/n quad t % 16 (16 neighbours read one 256-byte row segment).
  const loader = (name: 'A' | 'B', kContig: boolean, vec: boolean, buf: string, dim: string): string => {
    const ld = name === 'A' ? 'p.lda' : 'p.ldb';
    const batchStride = name === 'A' ? 'p.aBatch' : 'p.bBatch';
    const kbStride = name === 'A' ? 'p.aKb' : 'p.bKb';
    const origin = name === 'A' ? 'm0' : 'n0';
    const [row, k] = kContig
      ? [`${origin} + t / 4u`, 'k0 + (t % 4u) * 4u']
      : [`${origin} + (t % ${Q}u) * 4u`, `k0 + t / ${Q}u`];
    // Element (row, k) lives at base + row * ld + k (K contiguous) or base + k * ld + row.
    const at = kContig ? 'base + row * ' + ld + ' + k' : 'base + k * ' + ld + ' + row';
    let body: string;
    if (vec) {
      body = `if (row < ${dim} && k < p.K) { return ${buf}[(${at}) / 4u]; }
  return vec4<f32>(0.0);`;
    } else if (kContig) {
      body = `var v = vec4<f32>(0.0);
  if (row < ${dim}) {
    let o = ${at};
${unroll4((j) => `    if (k + ${j}u < p.K) { v.${COMP[j]} = ${buf}[o + ${j}u]; }`)}
  }
  return v;`;
    } else {
      body = `var v = vec4<f32>(0.0);
  if (k < p.K) {
    let o = ${at};
${unroll4((j) => `    if (row + ${j}u < ${dim}) { v.${COMP[j]} = ${buf}[o + ${j}u]; }`)}
  }
  return v;`;
    }
    return /* wgsl */ `
fn load${name}(ti: u32, z: u32, ${origin}: u32, t: u32) -> vec4<f32> {
  let kb = ti / p.nkt;
  let k0 = (ti % p.nkt) * ${KS}u;
  let base = z * ${batchStride} + kb * ${kbStride};
  let row = ${row};
  let k = ${k};
  ${body}
}`;
  };

  // Workgroup tiles are k-major: row k holds 16 vec4s, tile rows (or columns) 4q..4q+3 at depth k, so
  // the inner product reads one vec4 of A and one of B per k. The vec4 of q sits at column
  // q ^ swz(k), swz(k) = 2·(k / 4): a bank swizzle that makes the transposing component stores of
  // K-contiguous loads conflict-free (without it the four k-quads of one row hit the same banks);
  // reads of one k row stay a permutation of its 16 vec4s.
  const storer = (name: 'A' | 'B', kContig: boolean): string => {
    const S = `${name}s`;
    if (kContig) {
      return /* wgsl */ `
fn store${name}(v: vec4<f32>, t: u32) {
  let r = t / 4u;
  let c = r % 4u;
  let kq = t % 4u;
  let base = kq * ${4 * Q}u + ((r / 4u) ^ (kq * 2u));
${unroll4((j) => `  ${S}[base + ${j * Q}u][c] = v.${COMP[j]};`)}
}`;
    }
    return /* wgsl */ `
fn store${name}(v: vec4<f32>, t: u32) {
  let k = t / ${Q}u;
  ${S}[k * ${Q}u + ((t % ${Q}u) ^ swz(k))] = v;
}`;
  };

  const biasDecl = bias ? `@group(0) @binding(3) var<storage, read> bias: array<f32>;` : '';
  const epilogue = vC
    ? /* wgsl */ `
  if (n < p.N) {
    let bv = ${bias ? `vec4<f32>(bias[n], bias[n + 1u], bias[n + 2u], bias[n + 3u])` : 'vec4<f32>(0.0)'};
${unroll4((i) => `    if (mBase + ${i}u < p.M) { c[(cBase + (mBase + ${i}u) * p.N + n) / 4u] = p.alpha * acc${i} + bv; }`)}
  }`
    : /* wgsl */ `
  var bv = vec4<f32>(0.0);
${bias ? unroll4((j) => `  if (n + ${j}u < p.N) { bv.${COMP[j]} = bias[n + ${j}u]; }`) : ''}
${unroll4(
  (i) => `  if (mBase + ${i}u < p.M) {
    let o = cBase + (mBase + ${i}u) * p.N + n;
    let v = p.alpha * acc${i} + bv;
${unroll4((j) => `    if (n + ${j}u < p.N) { c[o + ${j}u] = v.${COMP[j]}; }`)}
  }`,
)}`;

  return /* wgsl */ `
struct P {
  M: u32, N: u32, K: u32, nkt: u32,
  lda: u32, ldb: u32, aBatch: u32, bBatch: u32,
  aKb: u32, bKb: u32, tiles: u32, alpha: f32,
}
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> a: array<${elemA}>;
@group(0) @binding(2) var<storage, read> b: array<${elemB}>;
${biasDecl}
@group(0) @binding(${cBinding}) var<storage, read_write> c: array<${elemC}>;

var<workgroup> As: array<vec4<f32>, ${KS * Q}>;
var<workgroup> Bs: array<vec4<f32>, ${KS * Q}>;
fn swz(k: u32) -> u32 { return (k / 4u) * 2u; }
${loader('A', !tA, vA, 'a', 'p.M')}
${loader('B', tB, vB, 'b', 'p.N')}
${storer('A', !tA)}
${storer('B', tB)}

@compute @workgroup_size(${Q}, ${Q})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) t: u32) {
  let m0 = wid.y * ${T}u;
  let n0 = wid.x * ${T}u;
  let z = wid.z;
${unroll4((i) => `  var acc${i} = vec4<f32>(0.0);`)}
  var ra = loadA(0u, z, m0, t);
  var rb = loadB(0u, z, n0, t);
  for (var ti = 0u; ti < p.tiles; ti++) {
    workgroupBarrier();
    storeA(ra, t);
    storeB(rb, t);
    workgroupBarrier();
    if (ti + 1u < p.tiles) {
      // Prefetch the next K-tile into registers while this one is multiplied.
      ra = loadA(ti + 1u, z, m0, t);
      rb = loadB(ti + 1u, z, n0, t);
    }
    for (var kk = 0u; kk < ${KS}u; kk++) {
      let av = As[kk * ${Q}u + (lid.y ^ swz(kk))];
      let bv = Bs[kk * ${Q}u + (lid.x ^ swz(kk))];
${unroll4((i) => `      acc${i} = fma(vec4<f32>(av.${COMP[i]}), bv, acc${i});`)}
    }
  }
  let cBase = z * p.M * p.N;
  let mBase = m0 + lid.y * 4u;
  let n = n0 + lid.x * 4u;
${epilogue}
}`;
}

/** Encodes one GEMM; returns the new output tensor. All shape checks happen in the callers. */
function gemm(s: GemmSpec): Tensor {
  const e = s.a.t.engine;
  const kbCount = s.kbCount ?? 1;
  const out = e.empty(s.outShape, s.name);
  const nkt = Math.max(1, Math.ceil(s.K / GEMM_KSTEP));
  const tiles = s.K === 0 ? 0 : kbCount * nkt;
  const vA = vecOk(s.a);
  const vB = vecOk(s.b);
  const vC = s.N % 4 === 0;
  const bias = s.bias ?? null;
  const variant = `${s.a.trans ? 't' : 'n'}${s.b.trans ? 't' : 'n'}${vA ? 4 : 1}${vB ? 4 : 1}${vC ? 4 : 1}${bias ? 'b' : ''}`;
  e.run({
    name: `${s.name}:gemm-${variant}`,
    code: gemmWgsl(s.a.trans, s.b.trans, vA, vB, vC, !!bias),
    params: new Params()
      .u32(s.M)
      .u32(s.N)
      .u32(s.K)
      .u32(nkt)
      .u32(s.a.ld)
      .u32(s.b.ld)
      .u32(s.a.batchStride)
      .u32(s.b.batchStride)
      .u32(s.a.kbStride)
      .u32(s.b.kbStride)
      .u32(tiles)
      .f32(s.alpha ?? 1),
    read: bias ? [s.a.t, s.b.t, bias] : [s.a.t, s.b.t],
    write: [out],
    workgroups: [Math.ceil(s.N / GEMM_TILE), Math.ceil(s.M / GEMM_TILE), s.batch],
  });
  return out;
}

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  /** Scales the product in the epilogue (e.g. attention's 1/√d); the backward scales by it too. */
  alpha?: number;
}

/**
 * C = op(A)·op(B), batched. a: [..., M, K] ([..., K, M] with transA); b: [..., K, N] ([..., N, K] with
 * transB). The batch dims must match exactly, or b may be a plain matrix broadcast over a's batch.
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const op = 'matmul';
  const transA = !!opts.transA;
  const transB = !!opts.transB;
  assertSameEngine(op, a, b);
  const desc = () => `a ${shapeStr(a.shape)}${transA ? 'ᵀ' : ''} · b ${shapeStr(b.shape)}${transB ? 'ᵀ' : ''}`;
  if (a.shape.length < 2 || b.shape.length < 2) {
    throw new EngineError(op, `operands need rank ≥ 2: ${desc()}`);
  }
  const ra = a.shape.length;
  const rb = b.shape.length;
  const batchDims = a.shape.slice(0, ra - 2);
  const broadcastB = rb === 2 && ra > 2;
  if (!broadcastB) {
    const bBatch = b.shape.slice(0, rb - 2);
    if (bBatch.length !== batchDims.length || bBatch.some((d, i) => d !== batchDims[i])) {
      throw new EngineError(op, `batch dims differ (b must match a's batch dims or have none): ${desc()}`);
    }
  }
  const [a0, a1] = a.shape.slice(ra - 2);
  const [b0, b1] = b.shape.slice(rb - 2);
  const M = transA ? a1 : a0;
  const K = transA ? a0 : a1;
  const Kb = transB ? b1 : b0;
  const N = transB ? b0 : b1;
  if (K !== Kb) throw new EngineError(op, `inner dimensions differ (K ${K} vs ${Kb}): ${desc()}`);
  const batch = batchDims.reduce((x, y) => x * y, 1);
  const alpha = opts.alpha ?? 1;

  const out = gemm({
    name: op,
    a: { t: a, trans: transA, ld: a1, batchStride: M * K, kbStride: 0 },
    b: { t: b, trans: transB, ld: b1, batchStride: broadcastB ? 0 : K * N, kbStride: 0 },
    M,
    N,
    K,
    batch,
    alpha,
    outShape: [...batchDims, M, N],
  });

  return record(op, [a, b], out, (gy) => {
    // Â = op(A) [M,K], B̂ = op(B) [K,N]: dÂ = dC·B̂ᵀ, dB̂ = Âᵀ·dC.
    const dC = (trans: boolean): Operand => ({ t: gy, trans, ld: N, batchStride: M * N, kbStride: 0 });
    const Bop = (trans: boolean): Operand => ({
      t: b,
      trans,
      ld: b1,
      batchStride: broadcastB ? 0 : K * N,
      kbStride: 0,
    });
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a.requiresGrad) {
      ga = transA
        ? // dA = dÂᵀ = B̂·dCᵀ  [K,M]
          gemm({ name: 'matmul-dA', alpha, a: Bop(transB), b: dC(true), M: K, N: M, K: N, batch, outShape: a.shape })
        : // dA = dC·B̂ᵀ  [M,K]
          gemm({ name: 'matmul-dA', alpha, a: dC(false), b: Bop(!transB), M, N: K, K: N, batch, outShape: a.shape });
    }
    if (b.requiresGrad) {
      if (!broadcastB) {
        const Aop = (trans: boolean): Operand => ({ t: a, trans, ld: a1, batchStride: M * K, kbStride: 0 });
        gb = transB
          ? // dB = dB̂ᵀ = dCᵀ·Â  [N,K]
            gemm({ name: 'matmul-dB', alpha, a: dC(true), b: Aop(transA), M: N, N: K, K: M, batch, outShape: b.shape })
          : // dB = Âᵀ·dC  [K,N]
            gemm({ name: 'matmul-dB', alpha, a: Aop(!transA), b: dC(false), M: K, N, K: M, batch, outShape: b.shape });
      } else if (!transA) {
        // Shared B: sum over the batch by flattening it into the contraction (A is [batch·M, K]).
        const R = batch * M;
        const Aop = (trans: boolean): Operand => ({ t: a, trans, ld: K, batchStride: 0, kbStride: 0 });
        const dCf = (trans: boolean): Operand => ({ t: gy, trans, ld: N, batchStride: 0, kbStride: 0 });
        gb = transB
          ? gemm({
              name: 'matmul-dB',
              alpha,
              a: dCf(true),
              b: Aop(false),
              M: N,
              N: K,
              K: R,
              batch: 1,
              outShape: b.shape,
            })
          : gemm({ name: 'matmul-dB', alpha, a: Aop(true), b: dCf(false), M: K, N, K: R, batch: 1, outShape: b.shape });
      } else {
        // Shared B with A stored [batch, K, M]: sum the per-batch products inside the kernel.
        const Aop = (trans: boolean): Operand => ({ t: a, trans, ld: M, batchStride: 0, kbStride: M * K });
        const dCk = (trans: boolean): Operand => ({ t: gy, trans, ld: N, batchStride: 0, kbStride: M * N });
        gb = transB
          ? // dB [N,K] = Σ dC_zᵀ·A_zᵀ
            gemm({
              name: 'matmul-dB',
              alpha,
              a: dCk(true),
              b: Aop(true),
              M: N,
              N: K,
              K: M,
              batch: 1,
              kbCount: batch,
              outShape: b.shape,
            })
          : // dB [K,N] = Σ A_z·dC_z
            gemm({
              name: 'matmul-dB',
              alpha,
              a: Aop(false),
              b: dCk(false),
              M: K,
              N,
              K: M,
              batch: 1,
              kbCount: batch,
              outShape: b.shape,
            });
      }
    }
    return [ga, gb];
  });
}

/**
 * PyTorch Linear: y = x·Wᵀ + b with x [..., in], W [out, in], bias [out] (or null). The bias is added
 * in the GEMM epilogue.
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  const op = 'linear';
  assertSameEngine(op, x, weight, ...(bias ? [bias] : []));
  const desc = () =>
    `x ${shapeStr(x.shape)}, weight ${shapeStr(weight.shape)}${bias ? `, bias ${shapeStr(bias.shape)}` : ''}`;
  if (x.shape.length < 1 || weight.shape.length !== 2) {
    throw new EngineError(op, `x needs rank ≥ 1 and weight rank 2: ${desc()}`);
  }
  const [outF, inF] = weight.shape;
  if (x.shape[x.shape.length - 1] !== inF) {
    throw new EngineError(op, `x's last dim must equal weight's in-features ${inF}: ${desc()}`);
  }
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== outF)) {
    throw new EngineError(op, `bias must be [${outF}]: ${desc()}`);
  }
  const R = x.shape.slice(0, -1).reduce((p, d) => p * d, 1);
  const flat = (t: Tensor, trans: boolean, ld: number): Operand => ({ t, trans, ld, batchStride: 0, kbStride: 0 });
  const y = gemm({
    name: op,
    a: flat(x, false, inF),
    b: flat(weight, true, inF),
    M: R,
    N: outF,
    K: inF,
    batch: 1,
    bias,
    outShape: [...x.shape.slice(0, -1), outF],
  });
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(op, inputs, y, (gy) => {
    const gx = x.requiresGrad
      ? // dx [R,in] = dy[R,out]·W[out,in]
        gemm({
          name: 'linear-dx',
          a: flat(gy, false, outF),
          b: flat(weight, false, inF),
          M: R,
          N: inF,
          K: outF,
          batch: 1,
          outShape: x.shape,
        })
      : null;
    const gw = weight.requiresGrad
      ? // dW [out,in] = dyᵀ·x
        gemm({
          name: 'linear-dW',
          a: flat(gy, true, outF),
          b: flat(x, false, inF),
          M: outF,
          N: inF,
          K: R,
          batch: 1,
          outShape: weight.shape,
        })
      : null;
    const grads: Array<Tensor | null> = [gx, gw];
    if (bias) grads.push(bias.requiresGrad ? columnSum(gy, R, outF, bias.shape, 'linear-db') : null);
    return grads;
  });
}
