/**
 * What of the browser encoder runs in Node: option checks, the stop before any work, and the 'no-codec' error
 * (Node has no WebCodecs, so nothing encodes). The encode itself is proven in Chromium: e2e/video-encode.spec.ts.
 */
import { describe, expect, it } from 'vitest';
import type { RgbaImage } from '../../edit/jobTypes';
import { encodeVideo, isVideoEncodeError, type EncodeVideoOptions } from './encodeVideo.browser';

const frame = async (): Promise<RgbaImage> => ({ width: 4, height: 4, data: new Uint8ClampedArray(64) });
const base: EncodeVideoOptions = { width: 4, height: 4, frameCount: 2, frameRate: 10, frame };

async function errorOf(o: EncodeVideoOptions): Promise<unknown> {
  return encodeVideo(o).then(
    () => null,
    (e: unknown) => e,
  );
}

describe('encodeVideo outside a browser', () => {
  it('refuses no frames, a bad frame rate and sides below 2 px', async () => {
    for (const bad of [{ frameCount: 0 }, { frameCount: 1.5 }, { frameRate: 0 }, { frameRate: NaN }, { width: 1 }]) {
      const e = await errorOf({ ...base, ...bad });
      expect(isVideoEncodeError(e, 'invalid'), JSON.stringify(bad)).toBe(true);
    }
    expect(((await errorOf({ ...base, width: 3, height: 1 })) as Error).message).toBe(
      'A 3×1 frame cannot be encoded (2×2 at least).',
    );
  });

  it('stops before any work when the signal has already fired', async () => {
    const abort = new AbortController();
    abort.abort();
    const e = await errorOf({ ...base, signal: abort.signal });
    expect(isVideoEncodeError(e, 'cancelled')).toBe(true);
    expect((e as Error).message).toBe('Exporting the video was cancelled.');
  });

  it('says no codec encodes where WebCodecs is missing, naming what it tried', async () => {
    const e = await errorOf(base);
    expect(isVideoEncodeError(e, 'no-codec')).toBe(true);
    expect((e as Error).message).toMatch(/^This browser cannot encode video \(tried H\.264, VP9, AV1, VP8 at 4×4\)/);
  });
});
