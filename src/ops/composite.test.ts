import { describe, expect, it } from 'vitest';
import { gradCheck, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import { EngineError } from '../gpu/errors';
import { alphaComposite, GREEN_SCREEN } from './composite';

describe('alphaComposite', () => {
  const [n, h, w] = [2, 3, 5];
  const fg = rand(n * 3 * h * w, 1, 0, 1);
  const alpha = rand(n * h * w, 2, 0, 1);
  const bg = rand(n * 3 * h * w, 3, 0, 1);
  const cpu = (bgAt: (i: number, c: number) => number) => {
    const out = new Float32Array(fg.length);
    for (let i = 0; i < fg.length; i++) {
      const c = Math.floor(i / (h * w)) % 3;
      const img = Math.floor(i / (3 * h * w));
      const a = alpha[img * h * w + (i % (h * w))];
      out[i] = (1 - a) * bgAt(i, c) + a * fg[i];
    }
    return out;
  };

  it('blends over an image and over the green screen', async () => {
    const e = await testEngine();
    const t = (shape: number[], d: Float32Array) => e.fromArray(shape, d);
    const overImage = await alphaComposite(t([n, 3, h, w], fg), t([n, 1, h, w], alpha), t([n, 3, h, w], bg)).read();
    expect(
      maxAbsDiff(
        overImage,
        cpu((i) => bg[i]),
      ),
    ).toBeLessThan(1e-6);
    const overGreen = await alphaComposite(t([n, 3, h, w], fg), t([n, 1, h, w], alpha), GREEN_SCREEN).read();
    expect(
      maxAbsDiff(
        overGreen,
        cpu((_, c) => GREEN_SCREEN[c]),
      ),
    ).toBeLessThan(1e-6);
  });

  it('has a backward for fg, alpha and bg that matches finite differences', async () => {
    const e = await testEngine();
    const inputs = [
      { shape: [n, 3, h, w], data: fg },
      { shape: [n, 1, h, w], data: alpha },
      { shape: [n, 3, h, w], data: bg },
    ];
    expect((await gradCheck(e, (f, a, b) => alphaComposite(f, a, b), inputs)).worst).toBeLessThan(1e-3);
    expect((await gradCheck(e, (f, a) => alphaComposite(f, a, GREEN_SCREEN), inputs.slice(0, 2))).worst).toBeLessThan(
      1e-3,
    );
  });

  it('rejects mismatched shapes', async () => {
    const e = await testEngine();
    expect(() => alphaComposite(e.zeros([1, 3, 4, 4]), e.zeros([1, 1, 4, 5]), GREEN_SCREEN)).toThrow(EngineError);
  });
});
