import { describe, expect, it } from 'vitest';
import { maskBox } from './atlasLayout';

describe('mask boxes (spec §B.3 item 7, scaled to the frame width)', () => {
  it('bounds α ≥ 0.95, grows by 30 px and to at least 129 px at 768 px width, inside the frame', () => {
    const [w, h] = [768, 432];
    const alpha = new Float32Array(w * h);
    for (let y = 200; y < 260; y++) for (let x = 300; x < 340; x++) alpha[y * w + x] = 0.97;
    alpha[10 * w + 10] = 0.9; // below the threshold: not counted
    expect(maskBox(alpha, w, h)).toEqual({ y0: 170, x0: 270, h: 129, w: 129 }); // 60+60 and 40+60 grown to 129
  });

  it('keeps the least size where the frame ends, scales the margins, and says when there is no object', () => {
    const [w, h] = [384, 216];
    const alpha = new Float32Array(w * h);
    alpha[(h - 1) * w + (w - 1)] = 1; // the corner pixel
    // Margins at half the width: grow 15 px, at least 65 px, pushed back inside the frame.
    expect(maskBox(alpha, w, h)).toEqual({ y0: h - 65, x0: w - 65, h: 65, w: 65 });
    expect(maskBox(new Float32Array(w * h), w, h)).toBeNull();
  });
});
