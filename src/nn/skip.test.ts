import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { maxAbs, maxAbsDiff, testEngine } from '../../test/gpu';
import { EngineError } from '../gpu/errors';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import { GENERATOR_ORACLE_TOLERANCES, parseGeneratorFixture, runGeneratorOracle } from './generatorOracle';
import { DEFAULT_SKIP_CONFIG, generatorMacs, minInputSide, SkipGenerator } from './skip';

const FIXTURE = new URL('../../test/fixtures/generator_small.safetensors', import.meta.url);

describe('SkipGenerator', () => {
  it('has 3,115,548 parameters at the default config and 75.4 GMAC at 512²', async () => {
    const e = await testEngine();
    const g = SkipGenerator.create(e, DEFAULT_SKIP_CONFIG, 0);
    expect(g.parameterCount).toBe(3_115_548);
    expect(generatorMacs(DEFAULT_SKIP_CONFIG, 512, 512) / 1e9).toBeCloseTo(75.39, 2);
    expect(minInputSide(DEFAULT_SKIP_CONFIG)).toBe(129);
    // PyTorch default init: weights within ±1/√fan_in, BN γ = 1, β = 0.
    const w = await g.param('levels.1.up.conv.weight').read();
    const bound = 1 / Math.sqrt(132 * 9);
    expect(maxAbs(w)).toBeLessThanOrEqual(bound);
    expect(maxAbs(w)).toBeGreaterThan(0.9 * bound);
    expect([...(await g.param('levels.0.concat_bn.weight').read())].every((v) => v === 1)).toBe(true);
    g.dispose();
  });

  it('rejects inputs smaller than 2^scales + 1 with a clear error', async () => {
    const e = await testEngine();
    const g = SkipGenerator.create(e, { scales: 3, down: 4, up: 4, skip: 2 }, 0);
    const x = e.zeros([1, 3, 8, 40]);
    expect(() => g.forward(x)).toThrow(EngineError);
    expect(() => g.forward(x)).toThrow(/40×8 px is too small: with 3 scales both sides must be at least 9 px/);
    x.release();
    g.dispose();
  });

  it('matches the PyTorch oracle: output and every parameter gradient', async () => {
    // The rules (and why BN-fed conv biases need a zero check instead of a relative one) live in
    // generatorOracle.ts, shared with the browser check `generator-oracle` on engine-check.html.
    expect(GENERATOR_ORACLE_TOLERANCES).toEqual({
      output: 1e-4,
      gradientRelative: 1e-3,
      zeroThreshold: 1e-9,
      zeroGradient: 1e-3,
    });
    const e = await testEngine();
    const fixture = parseGeneratorFixture(new Uint8Array(readFileSync(FIXTURE)));
    const report = await runGeneratorOracle(e, fixture);
    console.log(
      `generator oracle (Node): output max abs error ${report.outputMaxAbsError.toExponential(2)}, worst gradient ` +
        `relative error ${report.relative[0]?.relativeError.toExponential(2)} (${report.relative[0]?.name}), ` +
        `${report.zero.length} zero gradients ≤ ${report.zero[0]?.relativeToLargest.toExponential(2)} × largest`,
    );
    expect(report.outputShape).toEqual(report.expectedOutputShape);
    expect(report.outputMaxAbsError).toBeLessThanOrEqual(GENERATOR_ORACLE_TOLERANCES.output);
    const worst = report.relative[0];
    expect(worst.relativeError, `worst gradient: ${worst.name}`).toBeLessThanOrEqual(
      GENERATOR_ORACLE_TOLERANCES.gradientRelative,
    );
    expect(report.zero.length).toBeGreaterThan(0);
    for (const z of report.zero) {
      expect(z.relativeToLargest, `${z.name} should have a zero gradient`).toBeLessThanOrEqual(
        GENERATOR_ORACLE_TOLERANCES.zeroGradient,
      );
    }
    expect(report.failures).toEqual([]);
  });

  it('reproduces its outputs bit for bit after a checkpoint round trip', async () => {
    const e = await testEngine();
    const cfg = { scales: 3, down: 6, up: 5, skip: 3 };
    const a = SkipGenerator.create(e, cfg, 11);
    const b = SkipGenerator.create(e, cfg, 12);
    const x = e.fromArray(
      [1, 3, 13, 10],
      Array.from({ length: 390 }, (_, i) => ((i * 37) % 101) / 100),
    );
    const before = await e.noGrad(() => b.forward(x)).read();
    const bytes = await saveCheckpoint(a.params, { metadata: { config: JSON.stringify(cfg) } });
    const meta = await loadCheckpoint(bytes, b.params);
    expect(JSON.parse(meta.config)).toEqual(cfg);
    const ya = await e.noGrad(() => a.forward(x)).read();
    const yb = await e.noGrad(() => b.forward(x)).read();
    expect(maxAbsDiff(before, ya)).toBeGreaterThan(0);
    expect(Buffer.from(yb.buffer).equals(Buffer.from(ya.buffer))).toBe(true);
    a.dispose();
    b.dispose();
  });
});
