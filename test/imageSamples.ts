/**
 * Small encoded images for the image-parser fuzz tests (made with sharp), and header patches that make a file
 * declare another size (a decompression bomb: a few hundred bytes claiming a huge image).
 */
import { crc32 } from 'node:zlib';
import sharp from 'sharp';

export interface ImageSample {
  label: string;
  format: 'png' | 'jpeg' | 'webp';
  width: number;
  height: number;
  bytes: Uint8Array;
}

/** 16×12 pixels of a deterministic pattern, as PNG (with alpha), JPEG (with EXIF), lossy and lossless WebP. */
export async function imageSamples(): Promise<ImageSample[]> {
  const width = 16;
  const height = 12;
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 37 + (i >> 6) * 11) % 256;
  const img = () => sharp(rgba, { raw: { width, height, channels: 4 } });
  const make = async (label: string, format: ImageSample['format'], s: sharp.Sharp): Promise<ImageSample> => ({
    label,
    format,
    width,
    height,
    bytes: new Uint8Array(await s.toBuffer()),
  });
  return Promise.all([
    make('png', 'png', img().png()),
    make('jpeg', 'jpeg', img().flatten().jpeg({ quality: 80 }).withMetadata({ orientation: 1 })),
    make('webp lossy', 'webp', img().webp({ quality: 70 })),
    make('webp lossless', 'webp', img().webp({ lossless: true })),
  ]);
}

/** A copy of a PNG whose IHDR declares width × height (CRC fixed, so only the size is wrong). */
export function pngDeclaring(png: Uint8Array, width: number, height: number): Uint8Array {
  const out = png.slice();
  const view = new DataView(out.buffer);
  view.setUint32(16, width);
  view.setUint32(20, height);
  view.setUint32(29, crc32(out.subarray(12, 29)) >>> 0);
  return out;
}

/** A copy of a JPEG whose frame header (SOF0..SOF15) declares width × height. */
export function jpegDeclaring(jpeg: Uint8Array, width: number, height: number): Uint8Array {
  const out = jpeg.slice();
  const view = new DataView(out.buffer);
  let pos = 2;
  while (pos + 4 <= out.length) {
    const marker = out[pos + 1];
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      view.setUint16(pos + 5, height);
      view.setUint16(pos + 7, width);
      return out;
    }
    pos += 2 + view.getUint16(pos + 2);
  }
  throw new Error('no frame header found');
}

/** A copy of a lossless WebP (VP8L) whose bitstream header declares width × height (each 1..16383, the format's limit). */
export function webpLosslessDeclaring(webp: Uint8Array, width: number, height: number): Uint8Array {
  const out = webp.slice();
  const view = new DataView(out.buffer);
  const bits = view.getUint32(21, true);
  const rest = bits & ~((1 << 28) - 1); // alpha hint and version bits stay
  view.setUint32(21, (rest | ((height - 1) << 14) | (width - 1)) >>> 0, true);
  return out;
}
