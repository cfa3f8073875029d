import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImageBuffer, encodePng, ImageDecodeError, readImageFile, writePng } from './imageIO.node';
import { createImage, type RgbaImage } from './image';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imageio-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** 32×16 RGB: left half red, right half blue. */
function redBlue(): { data: Buffer; info: { width: number; height: number; channels: 3 } } {
  const w = 32;
  const h = 16;
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) data.set(x < w / 2 ? [255, 0, 0] : [0, 0, 255], (y * w + x) * 3);
  }
  return { data, info: { width: w, height: h, channels: 3 } };
}

function pixel(img: RgbaImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * 4;
  return Array.from(img.data.subarray(i, i + 4));
}

function near(a: number[], b: number[], tol = 12): boolean {
  return a.every((v, i) => Math.abs(v - b[i]) <= tol);
}

async function expectDecodeError(p: Promise<unknown>, pattern: RegExp, name: string): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageDecodeError);
  expect((err as Error).message).toMatch(pattern);
  expect((err as Error).message).toContain(name);
}

describe('readImageFile', () => {
  it('honours the EXIF orientation of a JPEG', async () => {
    const { data, info } = redBlue();
    const plain = join(dir, 'plain.jpg');
    const rotated = join(dir, 'rotated.jpg');
    await sharp(data, { raw: info }).jpeg({ quality: 95 }).toFile(plain);
    // Orientation 6: the stored image must be turned 90° clockwise for display.
    await sharp(data, { raw: info }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(rotated);
    expect((await sharp(rotated).metadata()).orientation).toBe(6);

    const a = await readImageFile(plain);
    expect([a.width, a.height]).toEqual([32, 16]);
    expect(near(pixel(a, 2, 8), [255, 0, 0, 255])).toBe(true);

    const b = await readImageFile(rotated);
    expect([b.width, b.height]).toEqual([16, 32]);
    // Left (red) half comes out on top, right (blue) half at the bottom.
    expect(near(pixel(b, 8, 2), [255, 0, 0, 255])).toBe(true);
    expect(near(pixel(b, 8, 29), [0, 0, 255, 255])).toBe(true);
  });

  it('reads PNG (with alpha), greyscale PNG and WebP as RGBA', async () => {
    const img = createImage(3, 2);
    for (let i = 0; i < 6; i++) img.data.set([i * 40, 255 - i * 40, 7, 50 + i * 30], i * 4);
    const p = join(dir, 'rgba.png');
    await writePng(p, img);
    const back = await readImageFile(p);
    expect(back.data).toEqual(img.data);

    const grey = join(dir, 'grey.png');
    await sharp(Buffer.from([0, 128, 255, 64]), { raw: { width: 2, height: 2, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toFile(grey);
    expect((await sharp(grey).metadata()).channels).toBe(1);
    const g = await readImageFile(grey);
    expect(pixel(g, 1, 0)).toEqual([128, 128, 128, 255]);

    const webp = join(dir, 'x.webp');
    await sharp(redBlue().data, { raw: redBlue().info }).webp({ lossless: true }).toFile(webp);
    const w = await readImageFile(webp);
    expect(pixel(w, 31, 0)).toEqual([0, 0, 255, 255]);
  });

  it('throws ImageDecodeError naming the file: missing, empty, not an image, corrupt, unsupported', async () => {
    const missing = join(dir, 'nope.png');
    await expectDecodeError(readImageFile(missing), /file not found/, missing);

    const empty = join(dir, 'empty.png');
    await writeFile(empty, new Uint8Array(0));
    await expectDecodeError(readImageFile(empty), /empty/, empty);

    const text = join(dir, 'notes.png');
    await writeFile(text, 'this is not an image\n');
    await expectDecodeError(readImageFile(text), /not a supported image/, text);

    const good = join(dir, 'good.png');
    await sharp(redBlue().data, { raw: redBlue().info }).png({ compressionLevel: 0 }).toFile(good);
    const bytes = await readFile(good);
    const corrupt = join(dir, 'corrupt.png');
    await writeFile(corrupt, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expectDecodeError(readImageFile(corrupt), /corrupt|not a supported image/, corrupt);

    const gif = join(dir, 'anim.gif');
    await sharp(redBlue().data, { raw: redBlue().info }).gif().toFile(gif);
    await expectDecodeError(readImageFile(gif), /format gif is not supported/, gif);

    await expectDecodeError(readImageFile(dir), /not a regular file/, dir);
  });
});

describe('buffers', () => {
  it('encodePng / decodeImageBuffer round-trip; bad buffers throw with the given name', async () => {
    const img = createImage(2, 2);
    img.data.set([1, 2, 3, 255, 4, 5, 6, 255, 7, 8, 9, 128, 10, 11, 12, 0]);
    const png = await encodePng(img);
    expect(Array.from(png.subarray(1, 4))).toEqual([0x50, 0x4e, 0x47]);
    expect((await decodeImageBuffer(png, 'upload.png')).data).toEqual(img.data);
    await expectDecodeError(decodeImageBuffer(new Uint8Array(0), 'upload.png'), /empty/, 'upload.png');
    await expectDecodeError(decodeImageBuffer(new Uint8Array([1, 2, 3]), 'x.jpg'), /not a supported image/, 'x.jpg');
  });
});
