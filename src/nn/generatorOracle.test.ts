import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareWithOracle, parseGeneratorFixture } from './generatorOracle';

const fixture = parseGeneratorFixture(
  new Uint8Array(readFileSync(new URL('../../test/fixtures/generator_small.safetensors', import.meta.url))),
);

/** The oracle's own values as "engine results", with optional edits. */
function perfect(edit: (grads: Map<string, Float32Array>, output: Float32Array) => void = () => undefined) {
  const grads = new Map([...fixture.grads].map(([k, v]) => [k, v.data.slice()]));
  const output = fixture.output.data.slice();
  edit(grads, output);
  return { outputShape: fixture.output.shape, output, grads, parameterCount: 0 };
}

describe('compareWithOracle (the rules shared by skip.test.ts and the generator-oracle page check)', () => {
  it('reads the config from the metadata and finds a zero and a non-zero gradient class', () => {
    expect(fixture.config).toEqual({ scales: 3, down: 8, up: 8, skip: 4 });
    const r = compareWithOracle(fixture, perfect());
    expect(r.failures).toEqual([]);
    expect(r.outputMaxAbsError).toBe(0);
    expect(r.relative.length + r.zero.length).toBe(fixture.grads.size);
    // BN-fed conv biases and the concat BNs' β are the analytically zero ones.
    expect(r.zero.map((z) => z.name)).toContain('levels.0.down1.conv.bias');
    expect(r.zero.map((z) => z.name)).toContain('levels.2.concat_bn.bias');
    expect(r.zero.every((z) => /\.conv\.bias$|concat_bn\.bias$/.test(z.name))).toBe(true);
    expect(r.relative.map((g) => g.name)).toContain('head.conv.bias');
  });

  it('fails an output error above 1e-4, a NaN, and a wrong shape', () => {
    expect(
      compareWithOracle(
        fixture,
        perfect((_, o) => (o[7] += 0.9e-4)),
      ).failures,
    ).toEqual([]);
    expect(
      compareWithOracle(
        fixture,
        perfect((_, o) => (o[7] += 1.2e-4)),
      ).failures,
    ).toEqual([expect.stringMatching(/^output max abs error 1\.2\de-4 exceeds 1\.00e-4$/)]);
    expect(
      compareWithOracle(
        fixture,
        perfect((_, o) => (o[0] = NaN)),
      ).failures,
    ).toHaveLength(1);
    const wrong = { ...perfect(), outputShape: [1, 3, 137, 201] };
    expect(compareWithOracle(fixture, wrong).failures[0]).toMatch(/output shape \[1,3,137,201\] differs/);
  });

  it('fails a gradient relative error above 1e-3 and names the parameter', () => {
    const name = 'levels.1.up.conv.weight';
    const bump = (f: number) =>
      perfect((g) => {
        const ref = fixture.grads.get(name)!.data;
        const m = Math.max(...ref.map(Math.abs));
        g.get(name)![3] += f * m;
      });
    const ok = compareWithOracle(fixture, bump(0.9e-3));
    expect(ok.failures).toEqual([]);
    expect(ok.relative[0].name).toBe(name);
    expect(compareWithOracle(fixture, bump(1.1e-3)).failures).toEqual([
      expect.stringMatching(new RegExp(`^${name}: gradient relative error 1\\.1\\de-3 exceeds 1\\.00e-3$`)),
    ]);
  });

  it('requires analytically zero gradients to stay below 1e-3 × the largest gradient', () => {
    const name = 'levels.0.down1.conv.bias';
    const r0 = compareWithOracle(fixture, perfect());
    const set = (f: number) => perfect((g) => (g.get(name)![0] = f * r0.largestGradient));
    expect(compareWithOracle(fixture, set(0.9e-3)).failures).toEqual([]);
    expect(compareWithOracle(fixture, set(1.1e-3)).failures).toEqual([
      expect.stringMatching(new RegExp(`^${name} should have a zero gradient`)),
    ]);
  });
});
