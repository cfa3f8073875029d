/**
 * Image files in Node (CLI, tests): decode PNG / JPEG / WebP into 8-bit RGBA with the EXIF orientation applied,
 * and write RGBA as PNG. Uses sharp (libvips). Not for the browser bundle: the page decodes with the browser's
 * own decoders.
 *
 * Notes: an embedded ICC profile is converted to sRGB by sharp (PIL, which the reference uses, ignores profiles;
 * untagged images are unaffected); 16-bit PNGs are reduced to 8 bits; greyscale becomes RGB; an image without
 * alpha gets alpha 255.
 */
import { stat, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { RgbaImage } from './jobTypes';

export class ImageDecodeError extends Error {
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ImageDecodeError';
  }
}

/** Formats accepted by `readImageFile` (sharp's format names). */
export const SUPPORTED_IMAGE_FORMATS: readonly string[] = ['png', 'jpeg', 'webp'];

/** Largest accepted image, in pixels (a guard against decompression bombs; 8192×8192). */
export const MAX_IMAGE_PIXELS = 8192 * 8192;

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Reads a PNG, JPEG or WebP file as 8-bit RGBA with its EXIF orientation applied (a photo taken in portrait
 * comes out upright). Throws `ImageDecodeError` naming the file when it is missing, empty, not an image, of an
 * unsupported format, or corrupt.
 */
export async function readImageFile(path: string): Promise<RgbaImage> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new ImageDecodeError(path, `Cannot read image ${path}: not a regular file`);
    size = st.size;
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : describe(err);
    throw new ImageDecodeError(path, `Cannot read image ${path}: ${why}`, { cause: err });
  }
  if (size === 0) throw new ImageDecodeError(path, `Cannot read image ${path}: the file is empty`);
  return decode(path, path);
}

/**
 * Decodes an encoded PNG, JPEG or WebP held in memory (e.g. an upload); `name` is used in error messages.
 * Same rules and errors as `readImageFile`.
 */
export async function decodeImageBuffer(bytes: Uint8Array, name = '(buffer)'): Promise<RgbaImage> {
  if (bytes.length === 0) throw new ImageDecodeError(name, `Cannot read image ${name}: the data is empty`);
  return decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), name);
}

async function decode(input: string | Buffer, name: string): Promise<RgbaImage> {
  let meta: sharp.Metadata;
  try {
    // The header only (no pixels are decoded), without sharp's pixel limit so that a too-large image is named as
    // such below rather than as "not a supported image".
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new ImageDecodeError(name, `Cannot read image ${name}: not a supported image (${describe(err)})`, {
      cause: err,
    });
  }
  const format = meta.format;
  if (!format || !SUPPORTED_IMAGE_FORMATS.includes(format)) {
    throw new ImageDecodeError(
      name,
      `Cannot read image ${name}: format ${format ?? 'unknown'} is not supported (use PNG, JPEG or WebP)`,
    );
  }
  const { width = 0, height = 0 } = meta;
  if (width < 1 || height < 1) {
    throw new ImageDecodeError(name, `Cannot read image ${name}: its header declares no pixels (${width}×${height})`);
  }
  if (width * height > MAX_IMAGE_PIXELS) {
    // A decompression bomb or simply too large: refused before decoding (the decode below enforces the same limit).
    throw new ImageDecodeError(
      name,
      `Cannot read image ${name}: it is ${width}×${height} px (${Math.round((width * height) / 1e6)} megapixels), ` +
        'more than the 8192×8192 pixels this tool decodes; scale it down first',
    );
  }
  try {
    const { data, info } = await sharp(input, { limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'error' })
      .rotate() // applies the EXIF orientation and drops the tag
      .toColourspace('srgb')
      .ensureAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.width < 1 || info.height < 1) throw new Error('the image has no pixels');
    if (info.channels !== 4 || data.length !== info.width * info.height * 4) {
      throw new Error(`unexpected decoder output: ${info.width}×${info.height}×${info.channels}, ${data.length} bytes`);
    }
    return {
      width: info.width,
      height: info.height,
      data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.length),
    };
  } catch (err) {
    throw new ImageDecodeError(name, `Cannot decode image ${name}: the file is corrupt (${describe(err)})`, {
      cause: err,
    });
  }
}

/** Encodes 8-bit RGBA pixels as PNG bytes (alpha kept). */
export async function encodePng(img: RgbaImage): Promise<Buffer> {
  if (img.data.length !== img.width * img.height * 4 || img.width < 1 || img.height < 1) {
    throw new RangeError(`encodePng: image data has ${img.data.length} bytes, expected ${img.width}×${img.height}×4`);
  }
  const buf = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length);
  return sharp(buf, { raw: { width: img.width, height: img.height, channels: 4 } })
    .png()
    .toBuffer();
}

/** Writes 8-bit RGBA pixels as a PNG file (alpha kept). */
export async function writePng(path: string, img: RgbaImage): Promise<void> {
  await writeFile(path, await encodePng(img));
}
