import { beforeAll, describe, expect, it } from 'vitest';
import { bitFlips, fuzz, MiB, truncations, type Mutant } from '../../test/fuzz';
import {
  imageSamples,
  jpegDeclaring,
  pngDeclaring,
  webpLosslessDeclaring,
  type ImageSample,
} from '../../test/imageSamples';
import { decodeImageBuffer, ImageDecodeError, MAX_IMAGE_PIXELS } from './imageIO.node';
import type { RgbaImage } from './jobTypes';

let samples: ImageSample[];
beforeAll(async () => {
  samples = await imageSamples();
});

const sample = (label: string) => samples.find((s) => s.label === label)!;

/** A decoded image is consistent and within the pixel limit, whatever the input was. */
function checkImage(img: RgbaImage): void {
  if (!(img.width >= 1 && img.height >= 1)) throw new Error(`decoded ${img.width}×${img.height}`);
  if (img.width * img.height > MAX_IMAGE_PIXELS) throw new Error(`decoded ${img.width}×${img.height}, over the limit`);
  if (img.data.length !== img.width * img.height * 4) throw new Error('pixel data of the wrong length');
}

async function expectRefusedCheaply(bytes: Uint8Array, pattern: RegExp): Promise<void> {
  const rss = process.memoryUsage().rss;
  const t0 = performance.now();
  const error = await decodeImageBuffer(bytes, 'bomb.img').then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, `${pattern}`).toBeInstanceOf(ImageDecodeError);
  expect((error as Error).message).toMatch(pattern);
  expect((error as Error).message).toContain('bomb.img');
  expect(performance.now() - t0).toBeLessThan(1000);
  // Native memory (sharp/libvips): nowhere near the gigabytes these headers declare.
  expect(process.memoryUsage().rss - rss).toBeLessThan(64 * MiB);
}

describe('image decoding fuzz (sharp)', () => {
  it('decodes the samples', async () => {
    for (const s of samples) {
      const img = await decodeImageBuffer(s.bytes, s.label);
      expect([img.width, img.height], s.label).toEqual([s.width, s.height]);
    }
  });

  it('decodes or rejects every truncation and random bit flips, with ImageDecodeError only', async () => {
    const cases: Mutant[] = [];
    samples.forEach((s, k) => {
      for (const m of [...truncations(s.bytes), ...bitFlips(s.bytes, 150, 60 + k)]) {
        cases.push({ label: `${s.label}: ${m.label}`, bytes: m.bytes });
      }
    });
    const report = await fuzz(cases, (bytes) => decodeImageBuffer(bytes, 'x'), {
      accept: (e) => e instanceof ImageDecodeError,
      check: checkImage,
    });
    expect(report.failures).toEqual([]);
    expect(report.rejected).toBeGreaterThan(cases.length / 2);
    expect(report.totalMs).toBeLessThan(15_000);
  });

  it('refuses huge declared sizes (decompression bombs) from the header, before decoding', async () => {
    const png = sample('png').bytes;
    await expectRefusedCheaply(
      pngDeclaring(png, 100_000, 100_000),
      /is 100000×100000 px \(10000 megapixels\), more than the 8192×8192/,
    );
    await expectRefusedCheaply(pngDeclaring(png, 8193, 8192), /is 8193×8192 px .*more than the 8192×8192/);
    await expectRefusedCheaply(pngDeclaring(png, 2 ** 31 - 1, 1), /not a supported image|more than/);
    const jpeg = sample('jpeg').bytes;
    await expectRefusedCheaply(jpegDeclaring(jpeg, 65_000, 65_000), /is 65000×65000 px .*more than the 8192×8192/);
    await expectRefusedCheaply(jpegDeclaring(jpeg, 30_000, 10_000), /more than the 8192×8192/);
    const webp = sample('webp lossless').bytes;
    await expectRefusedCheaply(
      webpLosslessDeclaring(webp, 16_383, 16_383),
      /is 16383×16383 px .*more than the 8192×8192/,
    );
  });

  it('refuses images that declare no pixels', async () => {
    await expectRefusedCheaply(pngDeclaring(sample('png').bytes, 0, 12), /not a supported image|declares no pixels/);
    await expectRefusedCheaply(
      jpegDeclaring(sample('jpeg').bytes, 0, 12),
      /not a supported image|declares no pixels|corrupt/,
    );
  });

  it('keeps the limit as the bound for a small file declaring a large image within it', async () => {
    // 8000×8000 declared in a few hundred bytes: within the limit, so libjpeg decodes it (grey where data is
    // missing) — the pixel limit, not the file size, bounds the memory (8192² RGBA = 256 MiB).
    expect(MAX_IMAGE_PIXELS).toBe(8192 * 8192);
    const img = await decodeImageBuffer(jpegDeclaring(sample('jpeg').bytes, 1000, 800), 'x').catch((e: unknown) => e);
    if (!(img instanceof ImageDecodeError)) checkImage(img as RgbaImage);
  });
});
