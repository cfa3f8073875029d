import { describe, expect, it } from 'vitest';
import { gradCheck, maxAbs, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import type { Engine } from '../gpu/engine';
import { bucketSize } from '../gpu/pool';
import { EngineError } from '../gpu/errors';
import { Tape } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { leakyRelu } from './activation';
import { batchNormConv2d } from './bnConv';
import { conv2d, type ConvPadding } from './conv';
import { batchNorm } from './norm';

interface Case {
  n: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  k: number;
  stride: number;
  padding: ConvPadding;
  bias: boolean;
  /** LeakyReLU slope between BN and conv, or none. */
  slope?: number;
}

interface Data {
  x: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  weight: Float32Array;
  bias: Float32Array | null;
}

function caseData(c: Case, seed: number): Data {
  return {
    x: rand(c.n * c.cin * c.h * c.w, seed, -2, 3),
    gamma: rand(c.cin, seed + 1, 0.5, 1.5),
    beta: rand(c.cin, seed + 2, -0.5, 0.5),
    weight: rand(c.cout * c.cin * c.k * c.k, seed + 3),
    bias: c.bias ? rand(c.cout, seed + 4) : null,
  };
}

/**
 * Moves the x values whose BN output lies within `margin` of 0 (LeakyReLU's kink) to ±2·margin, in place, until
 * none is left: central differences straddling the kink are meaningless.
 */
function awayFromKink(c: Case, d: Data, margin: number): void {
  const hw = c.h * c.w;
  for (let round = 0; round < 50; round++) {
    let moved = 0;
    for (let ch = 0; ch < c.cin; ch++) {
      const idx: number[] = [];
      for (let b = 0; b < c.n; b++) for (let j = 0; j < hw; j++) idx.push((b * c.cin + ch) * hw + j);
      const mean = idx.reduce((s, i) => s + d.x[i], 0) / idx.length;
      const std = Math.sqrt(idx.reduce((s, i) => s + (d.x[i] - mean) ** 2, 0) / idx.length + 1e-5);
      for (const i of idx) {
        const out = ((d.x[i] - mean) / std) * d.gamma[ch] + d.beta[ch];
        if (Math.abs(out) >= margin) continue;
        const target = out < 0 ? -2 * margin : 2 * margin;
        d.x[i] = mean + ((target - d.beta[ch]) / d.gamma[ch]) * std;
        moved++;
      }
    }
    if (moved === 0) return;
  }
  throw new Error('awayFromKink did not settle');
}

/** The unfused composition the fused unit replaces. */
function unfused(c: Case, x: Tensor, g: Tensor, b: Tensor, w: Tensor, bias: Tensor | null): Tensor {
  let z = batchNorm(x, g, b, 1e-5);
  if (c.slope !== undefined) z = leakyRelu(z, c.slope);
  return conv2d(z, w, bias, { stride: c.stride, padding: c.padding });
}

function fused(c: Case, x: Tensor, g: Tensor, b: Tensor, w: Tensor, bias: Tensor | null): Tensor {
  return batchNormConv2d(x, g, b, w, bias, { stride: c.stride, padding: c.padding, eps: 1e-5, leakySlope: c.slope });
}

type Unit = typeof fused;

/** Output, the gradients of all inputs for the seed gy, and the live bytes held between forward and backward. */
async function run(e: Engine, unit: Unit, c: Case, d: Data, gySeed: number) {
  const before = e.pool.stats().liveBytes;
  let saved = 0;
  const tensors = e.tidy(() => {
    const x = e.fromArray([c.n, c.cin, c.h, c.w], d.x);
    const g = e.fromArray([c.cin], d.gamma);
    const b = e.fromArray([c.cin], d.beta);
    const w = e.fromArray([c.cout, c.cin, c.k, c.k], d.weight);
    const bias = d.bias ? e.fromArray([c.cout], d.bias) : null;
    const leaves = [x, g, b, w, ...(bias ? [bias] : [])];
    for (const t of leaves) t.requiresGrad = true;
    const tape = Tape.start(e);
    const y = unit(c, x, g, b, w, bias);
    saved = e.pool.stats().liveBytes - before;
    tape.backward(y, e.fromArray(y.shape, rand(y.size, gySeed)));
    return [y, ...leaves.map((t) => t.grad!)];
  });
  const values = await Promise.all(tensors.map((t) => t.read()));
  for (const t of tensors) t.release();
  // Nothing but the returned tensors outlived the step (the statistics and the recomputed input included).
  expect(e.pool.stats().liveBytes).toBe(before);
  return { values, saved };
}

const NAMES = ['output', 'dx', 'dgamma', 'dbeta', 'dweight', 'dbias'];

const CASES: Case[] = [
  // The generator's three uses: concat BN → 3×3 up conv, up BN → LeakyReLU → 1×1, down1 BN → LeakyReLU → 3×3.
  { n: 1, cin: 5, h: 7, w: 9, cout: 4, k: 3, stride: 1, padding: 'reflect', bias: true },
  { n: 1, cin: 4, h: 7, w: 9, cout: 6, k: 1, stride: 1, padding: 'reflect', bias: true, slope: 0.2 },
  { n: 1, cin: 6, h: 5, w: 4, cout: 3, k: 3, stride: 1, padding: 'reflect', bias: true, slope: 0.2 },
  // Other settings the unit accepts.
  { n: 2, cin: 3, h: 6, w: 5, cout: 5, k: 3, stride: 2, padding: 'zeros', bias: false, slope: 0.05 },
  { n: 1, cin: 3, h: 5, w: 6, cout: 20, k: 3, stride: 1, padding: 'none', bias: true },
];

describe('batchNormConv2d', () => {
  it('gives the unfused composition’s output and every gradient while keeping less for the backward', async () => {
    const e = await testEngine();
    for (const [i, c] of CASES.entries()) {
      const d = caseData(c, 10 + 7 * i);
      const want = await run(e, unfused, c, d, 500 + i);
      const got = await run(e, fused, c, d, 500 + i);
      expect(got.values.length).toBe(want.values.length);
      for (const [k, v] of got.values.entries()) {
        const scale = Math.max(maxAbs(want.values[k]), 1e-12);
        expect(maxAbsDiff(v, want.values[k]) / scale, `${NAMES[k]} of ${JSON.stringify(c)}`).toBeLessThanOrEqual(1e-6);
      }
      // The unfused chain also keeps the BN output (and with the activation, its output: the BN output is then
      // released only by the scope, so both stay); the fused unit keeps neither.
      const z = bucketSize(c.n * c.cin * c.h * c.w * 4);
      expect(want.saved - got.saved, JSON.stringify(c)).toBe(c.slope === undefined ? z : 2 * z);
    }
  });

  it('has a backward that matches finite differences', async () => {
    const e = await testEngine();
    const worst: string[] = [];
    for (const [i, c] of CASES.entries()) {
      const d = caseData(c, 100 + 5 * i);
      if (c.slope !== undefined) awayFromKink(c, d, 0.05);
      const inputs = [
        { shape: [c.n, c.cin, c.h, c.w], data: d.x },
        { shape: [c.cin], data: d.gamma },
        { shape: [c.cin], data: d.beta },
        { shape: [c.cout, c.cin, c.k, c.k], data: d.weight },
      ];
      if (d.bias) inputs.push({ shape: [c.cout], data: d.bias });
      const f = (x: Tensor, g: Tensor, b: Tensor, w: Tensor, bias?: Tensor) => fused(c, x, g, b, w, bias ?? null);
      // Through the activation, smaller steps, which keep the BN outputs on their side of the kink.
      const r = await gradCheck(e, f, inputs, { eps: c.slope === undefined ? 1e-2 : 1e-3, probes: 16 });
      worst.push(`${JSON.stringify(c)}: ${r.errors.map((v) => v.toExponential(1)).join(' ')}`);
      expect(r.worst, JSON.stringify(c)).toBeLessThan(1e-2);
    }
    process.stderr.write(`batchNormConv2d gradCheck relative errors (x, γ, β, W, b):\n  ${worst.join('\n  ')}\n`);
  });

  it('rejects a non-positive slope and mismatched shapes before doing any work', async () => {
    const e = await testEngine();
    const x = e.fromArray([1, 2, 3, 3], rand(18, 1)).keep();
    const g = e.fromArray([2], [1, 1]).keep();
    const b = e.fromArray([2], [0, 0]).keep();
    const w = e.fromArray([3, 2, 3, 3], rand(54, 2)).keep();
    const w3 = e.fromArray([3, 3, 1, 1], rand(9, 3)).keep();
    const live = e.pool.stats().liveBytes;
    expect(() => batchNormConv2d(x, g, b, w, null, { leakySlope: 0 })).toThrow(/leakySlope must be/);
    expect(() => batchNormConv2d(x, g, b, w3, null)).toThrow(EngineError);
    expect(() => batchNormConv2d(x, w3, b, w, null)).toThrow(/gamma/);
    expect(e.pool.stats().liveBytes).toBe(live);
    for (const t of [x, g, b, w, w3]) t.release();
  });
});
