import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { isVideoEncodeError } from './encodeError';
import { frameEntryName, zipFrames } from './frameZip';

/** Stand-in "PNG" bytes: distinct per frame, of different lengths, with the PNG signature in front. */
function fakePng(i: number): Uint8Array {
  const bytes = new Uint8Array(8 + 50 + i * 7);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  for (let k = 8; k < bytes.length; k++) bytes[k] = (k * 31 + i * 17) & 0xff;
  return bytes;
}

describe('zipFrames', () => {
  it('stores every frame under its 5-digit 0-based name, in order, with one progress call a frame', async () => {
    const asked: number[] = [];
    const progress: [number, number][] = [];
    const zip = await zipFrames(
      12,
      async (i) => {
        asked.push(i);
        return fakePng(i);
      },
      { onProgress: (done, total) => progress.push([done, total]) },
    );
    const files = unzipSync(zip);
    const names = Object.keys(files);
    expect(names).toEqual(Array.from({ length: 12 }, (_, i) => String(i).padStart(5, '0') + '.png'));
    names.forEach((name, i) => expect(files[name]).toEqual(fakePng(i)));
    expect(asked).toEqual([...Array(12).keys()]);
    expect(progress).toEqual(Array.from({ length: 12 }, (_, i) => [i + 1, 12]));
  });

  it('stores the PNGs uncompressed (method 0) and puts the prefix before each name', async () => {
    const zip = await zipFrames(3, async (i) => fakePng(i), { prefix: 'frames/' });
    expect(Object.keys(unzipSync(zip))).toEqual(['frames/00000.png', 'frames/00001.png', 'frames/00002.png']);
    // Local file header of the first entry: signature PK\3\4, compression method at offset 8 (little endian).
    expect([...zip.subarray(0, 4)]).toEqual([0x50, 0x4b, 0x03, 0x04]);
    expect(zip[8] | (zip[9] << 8)).toBe(0);
    // Stored: the archive is the frames plus small headers.
    const payload = [0, 1, 2].reduce((n, i) => n + fakePng(i).length, 0);
    expect(zip.length).toBeGreaterThan(payload);
    expect(zip.length).toBeLessThan(payload + 3 * 120 + 100);
  });

  it('names frames past 99999 without clashing, and makes an empty zip of no frames', async () => {
    expect(frameEntryName(7)).toBe('00007.png');
    expect(frameEntryName(123456, 'x-')).toBe('x-123456.png');
    expect(Object.keys(unzipSync(await zipFrames(0, async () => fakePng(0))))).toEqual([]);
  });

  it('stops with the cancelled error when the signal fires, asking for no frame after', async () => {
    const abort = new AbortController();
    const asked: number[] = [];
    const progress: number[] = [];
    const run = zipFrames(
      10,
      async (i) => {
        asked.push(i);
        if (i === 3) abort.abort();
        return fakePng(i);
      },
      { signal: abort.signal, onProgress: (done) => progress.push(done) },
    );
    const error = await run.catch((e: unknown) => e);
    expect(isVideoEncodeError(error, 'cancelled')).toBe(true);
    expect((error as Error).message).toBe('Exporting the frames zip was cancelled.');
    expect(asked).toEqual([0, 1, 2, 3]);
    expect(progress).toEqual([1, 2, 3]); // frame 3 was rendered, but the stop came first
    const before = new AbortController();
    before.abort();
    await expect(zipFrames(2, async () => fakePng(0), { signal: before.signal })).rejects.toMatchObject({
      kind: 'cancelled',
    });
  });

  it('passes a frame callback error through and refuses a bad count', async () => {
    const boom = new Error('render failed');
    await expect(
      zipFrames(3, async (i) => {
        if (i === 1) throw boom;
        return fakePng(i);
      }),
    ).rejects.toBe(boom);
    await expect(zipFrames(1.5, async () => fakePng(0))).rejects.toMatchObject({ kind: 'invalid' });
    await expect(zipFrames(-1, async () => fakePng(0))).rejects.toMatchObject({ kind: 'invalid' });
  });
});
