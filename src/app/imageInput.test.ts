import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { bitFlips, byteOverwrites, fuzz, randomBytes, truncations, type Mutant } from '../../test/fuzz';
import {
  imageSamples,
  jpegDeclaring,
  pngDeclaring,
  webpLosslessDeclaring,
  type ImageSample,
} from '../../test/imageSamples';
import { readDeclaredImageSize } from './imageHeader';
import { checkDeclaredSize, decodeImageFile, ImageInputError, MAX_DECODE_PIXELS, MAX_INPUT_SIDE } from './imageInput';

let samples: ImageSample[];
beforeAll(async () => {
  samples = await imageSamples();
});
afterEach(() => {
  vi.unstubAllGlobals();
});

const sample = (label: string) => samples.find((s) => s.label === label)!;
const file = (bytes: Uint8Array, name: string, type: string) =>
  new File([bytes as Uint8Array<ArrayBuffer>], name, { type });

/** createImageBitmap as the browser's: a bitmap of the given size (or a decode failure); records its calls. */
function stubDecoder(width: number, height: number, fail = false) {
  const calls: unknown[][] = [];
  vi.stubGlobal('createImageBitmap', (...args: unknown[]) => {
    calls.push(args);
    if (fail) return Promise.reject(new DOMException('decode failed', 'InvalidStateError'));
    const opts = args[1] as { resizeWidth?: number; resizeHeight?: number } | undefined;
    return Promise.resolve({ width: opts?.resizeWidth ?? width, height: opts?.resizeHeight ?? height, close() {} });
  });
  return calls;
}

async function inputError(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ImageInputError);
  return (e as Error).message;
}

describe('declared image size (header sniffing)', () => {
  it('reads the size of PNG, JPEG (after its EXIF segment) and both WebP kinds', () => {
    for (const s of samples) {
      expect(readDeclaredImageSize(s.bytes), s.label).toEqual({ format: s.format, width: s.width, height: s.height });
    }
    expect(readDeclaredImageSize(pngDeclaring(sample('png').bytes, 100_000, 3))).toMatchObject({ width: 100_000 });
    expect(readDeclaredImageSize(jpegDeclaring(sample('jpeg').bytes, 65_000, 2))).toMatchObject({ width: 65_000 });
    const vp8l = webpLosslessDeclaring(sample('webp lossless').bytes, 16_383, 9);
    expect(readDeclaredImageSize(vp8l)).toEqual({ format: 'webp', width: 16_383, height: 9 });
  });

  it('never throws or loops on truncated, flipped or random bytes', async () => {
    const cases: Mutant[] = [];
    samples.forEach((s, k) => cases.push(...truncations(s.bytes), ...bitFlips(s.bytes, 500, 70 + k)));
    cases.push(...byteOverwrites(sample('jpeg').bytes, 1000, 80, [0, 64]));
    for (let k = 0; k < 200; k++) cases.push({ label: `random ${k}`, bytes: randomBytes(k * 5, 90 + k) });
    // JPEG markers only: a walker that does not advance would spin here.
    cases.push({ label: 'all 0xff', bytes: new Uint8Array(100_000).fill(0xff).map((v, i) => (i === 1 ? 0xd8 : v)) });
    const report = await fuzz(cases, readDeclaredImageSize, {
      accept: () => false,
      check: (r) => {
        if (r && !(Number.isSafeInteger(r.width) && Number.isSafeInteger(r.height) && r.width >= 0 && r.height >= 0)) {
          throw new Error(`odd size ${JSON.stringify(r)}`);
        }
      },
    });
    expect(report.failures).toEqual([]);
    expect(report.totalMs).toBeLessThan(3000);
  });
});

describe('decodeImageFile checks before decoding', () => {
  it('refuses a file declaring more than the decode limit without calling the decoder', async () => {
    const calls = stubDecoder(100, 100);
    const bombs: Array<[Uint8Array, string]> = [
      [pngDeclaring(sample('png').bytes, 30_000, 30_000), 'image/png'],
      [jpegDeclaring(sample('jpeg').bytes, 65_000, 65_000), 'image/jpeg'],
      [webpLosslessDeclaring(sample('webp lossless').bytes, 16_383, 16_383), 'image/webp'],
    ];
    for (const [bytes, type] of bombs) {
      const message = await inputError(decodeImageFile(file(bytes, 'bomb', type)));
      expect(message).toMatch(
        /“bomb” declares \d+×\d+ px \(\d+ megapixels\); photos up to 200 megapixels can be opened/,
      );
    }
    expect(calls).toEqual([]);
    expect(() => checkDeclaredSize('ok', pngDeclaring(sample('png').bytes, 16_000, 12_000))).not.toThrow();
    expect(MAX_DECODE_PIXELS).toBe(200_000_000);
  });

  it('keeps the existing messages: empty, wrong type, damaged; downscales large photos', async () => {
    const calls = stubDecoder(3000, 2000);
    expect(await inputError(decodeImageFile(file(new Uint8Array(0), 'empty.jpg', 'image/jpeg')))).toMatch(/is empty/);
    expect(await inputError(decodeImageFile(file(sample('png').bytes, 'a.gif', 'image/gif')))).toMatch(/a GIF image/);
    expect(calls).toEqual([]);
    const big = await decodeImageFile(file(sample('png').bytes, 'big.png', 'image/png'));
    expect([big.width, big.height, big.originalWidth, big.downscaled]).toEqual([MAX_INPUT_SIDE, 1365, 3000, true]);
    stubDecoder(1, 1, true);
    const text = new TextEncoder().encode('not a picture');
    expect(await inputError(decodeImageFile(file(text, 'notes.png', 'image/png')))).toMatch(
      /could not be read as an image/,
    );
  });
});
