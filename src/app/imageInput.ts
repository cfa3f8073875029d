/**
 * Reading the user's photo: JPEG, PNG or WebP from a drop, the file picker or the clipboard; decoded off the main
 * thread by `createImageBitmap` with the EXIF orientation applied; very large photos downscaled (with a notice) to
 * the largest side the final render supports. Clear errors for empty, unsupported and damaged files, and for files
 * that declare more pixels than we decode (checked from the header before the browser's decoder allocates them).
 */
import type { RgbaImage } from '../edit/jobTypes';
import { readDeclaredImageSize } from './imageHeader';

export const ACCEPTED_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;
export const ACCEPT_ATTRIBUTE = 'image/jpeg,image/png,image/webp,.jpg,.jpeg,.png,.webp';
/** Longest side kept (the job renders downloads at most this large). */
export const MAX_INPUT_SIDE = 2048;

/**
 * Most pixels a photo may declare: a 200-megapixel camera's (its RGBA alone is 800 MB). Beyond this a file is a
 * decompression bomb or not a photo; decoding it could take the tab down instead of giving a message.
 */
export const MAX_DECODE_PIXELS = 200_000_000;
/** Bytes read to find the declared size: enough for a JPEG's EXIF and ICC segments before its frame header. */
const HEADER_BYTES = 256 * 1024;

export interface InputImage {
  /** The photo as displayed and trained on (oriented, at most MAX_INPUT_SIDE on its longest side). */
  bitmap: ImageBitmap;
  width: number;
  height: number;
  /** The decoded file's size (after orientation) before any downscaling. */
  originalWidth: number;
  originalHeight: number;
  name: string;
  downscaled: boolean;
}

export class ImageInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageInputError';
  }
}

function quoted(name: string): string {
  return name ? `“${name}”` : 'The file';
}

/** The first image-like file of a list (drop or paste), or the first file at all so it can be reported. */
export function pickImageFile(files: ArrayLike<File> | null | undefined): File | null {
  if (!files || files.length === 0) return null;
  const list = Array.from(files);
  return list.find((f) => f.type.startsWith('image/')) ?? list[0];
}

/** The checks that need neither the bytes nor a decoder: empty, a type we do not read. */
export function checkImageFile(file: { name: string; size: number; type: string }): void {
  const name = file.name || 'pasted image';
  if (file.size === 0)
    throw new ImageInputError(`${quoted(name)} is empty (0 bytes). Choose a JPEG, PNG or WebP photo.`);
  if (file.type && !(ACCEPTED_TYPES as readonly string[]).includes(file.type)) {
    throw new ImageInputError(
      `${quoted(name)} is ${file.type.startsWith('image/') ? `a ${file.type.slice(6).toUpperCase()} image` : `not an image (${file.type})`}. Choose a JPEG, PNG or WebP photo.`,
    );
  }
}

/** Refuses a file whose header declares more than MAX_DECODE_PIXELS (`header`: the file's first bytes). */
export function checkDeclaredSize(name: string, header: Uint8Array): void {
  const declared = readDeclaredImageSize(header);
  if (declared && declared.width * declared.height > MAX_DECODE_PIXELS) {
    const mp = Math.round((declared.width * declared.height) / 1e6);
    throw new ImageInputError(
      `${quoted(name)} declares ${declared.width}×${declared.height} px (${mp} megapixels); photos up to ` +
        `${MAX_DECODE_PIXELS / 1e6} megapixels can be opened. Scale it down first, or check that the file is not damaged.`,
    );
  }
}

async function readHeader(file: File, name: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await file.slice(0, HEADER_BYTES).arrayBuffer());
  } catch {
    throw new ImageInputError(`${quoted(name)} could not be read (was it moved or deleted?).`);
  }
}

export async function decodeImageFile(file: File): Promise<InputImage> {
  const name = file.name || 'pasted image';
  checkImageFile(file);
  checkDeclaredSize(name, await readHeader(file, name));
  let decoded: ImageBitmap;
  try {
    decoded = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    throw new ImageInputError(
      `${quoted(name)} could not be read as an image: it is damaged, or it is not really a JPEG, PNG or WebP file.`,
    );
  }
  const originalWidth = decoded.width;
  const originalHeight = decoded.height;
  if (originalWidth === 0 || originalHeight === 0) {
    decoded.close();
    throw new ImageInputError(`${quoted(name)} has no pixels.`);
  }
  const long = Math.max(originalWidth, originalHeight);
  let bitmap = decoded;
  if (long > MAX_INPUT_SIDE) {
    const scale = MAX_INPUT_SIDE / long;
    const resizeWidth = Math.max(1, Math.round(originalWidth * scale));
    const resizeHeight = Math.max(1, Math.round(originalHeight * scale));
    bitmap = await createImageBitmap(decoded, { resizeWidth, resizeHeight, resizeQuality: 'high' });
    decoded.close();
  }
  return {
    bitmap,
    width: bitmap.width,
    height: bitmap.height,
    originalWidth,
    originalHeight,
    name,
    downscaled: bitmap !== decoded,
  };
}

/** A bitmap from RGBA pixels (a session's stored photo). */
export function pixelsToBitmap(img: RgbaImage): Promise<ImageBitmap> {
  return createImageBitmap(new ImageData(img.data as Uint8ClampedArray<ArrayBuffer>, img.width, img.height));
}
