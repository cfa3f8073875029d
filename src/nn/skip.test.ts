import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { maxAbs, maxAbsDiff, testEngine } from '../../test/gpu';
import { EngineError } from '../gpu/errors';
import { Tape } from '../gpu/tape';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import { decodeSafetensors } from './safetensors';
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
    const e = await testEngine();
    const fx = decodeSafetensors(new Uint8Array(readFileSync(FIXTURE)));
    const t = (name: string) => {
      const v = fx.tensors.get(name);
      if (!v) throw new Error(`fixture lacks ${name}`);
      return v;
    };
    const cfg = {
      scales: Number(fx.metadata.scales),
      down: Number(fx.metadata.down),
      up: Number(fx.metadata.up),
      skip: Number(fx.metadata.skip),
    };
    const g = SkipGenerator.create(e, cfg, 0);
    for (const p of g.params) e.upload(p.value.buffer, t(`param.${p.name}`).data);
    const input = t('input');
    const x = e.fromArray(input.shape, input.data);
    const tape = Tape.start(e);
    const out = g.forward(x);
    const R = t('loss_weights');
    tape.backward(out, e.fromArray(out.shape, R.data));
    const want = t('output');
    expect(out.shape).toEqual(want.shape);
    expect(maxAbsDiff(await out.read(), want.data)).toBeLessThanOrEqual(1e-4);
    // Conv biases that feed a BN (and the concat BN's β) have an exactly-zero true gradient: BN removes
    // any per-channel constant. The oracle gives ~1e-14 for them; relative error is meaningless there, so
    // they must instead be zero to within 1e-3 of the largest gradient of the network.
    const grads = new Map<string, Float32Array>();
    for (const p of g.params) grads.set(p.name, await p.value.grad!.read());
    const globalScale = Math.max(...g.params.map((p) => maxAbs(t(`grad.${p.name}`).data)));
    const relative: Array<[string, number]> = [];
    let zeroChecked = 0;
    for (const p of g.params) {
      const ref = t(`grad.${p.name}`).data;
      const got = grads.get(p.name)!;
      if (maxAbs(ref) < 1e-9 * globalScale) {
        expect(maxAbs(got), `${p.name} should have a zero gradient`).toBeLessThanOrEqual(1e-3 * globalScale);
        zeroChecked++;
      } else {
        relative.push([p.name, maxAbsDiff(got, ref) / maxAbs(ref)]);
      }
    }
    relative.sort((a, b) => b[1] - a[1]);
    expect(relative.length).toBeGreaterThan(g.params.length / 2);
    expect(zeroChecked).toBeLessThan(g.params.length / 3);
    expect(relative[0][1], `worst gradient: ${relative[0][0]}`).toBeLessThanOrEqual(1e-3);
    g.dispose();
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
