/**
 * Reading the user's photo: JPEG, PNG or WebP from a drop, the file picker or the clipboard; decoded off the main
 * thread by `createImageBitmap` with the EXIF orientation applied; very large photos downscaled (with a notice) to
 * the largest side the final render supports. Clear errors for empty, unsupported and damaged files.
 */
import type { RgbaImage } from '../edit/jobTypes';

export const ACCEPTED_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;
export const ACCEPT_ATTRIBUTE = 'image/jpeg,image/png,image/webp,.jpg,.jpeg,.png,.webp';
/** Longest side kept (the job renders downloads at most this large). */
export const MAX_INPUT_SIDE = 2048;

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

export async function decodeImageFile(file: File): Promise<InputImage> {
  const name = file.name || 'pasted image';
  if (file.size === 0)
    throw new ImageInputError(`${quoted(name)} is empty (0 bytes). Choose a JPEG, PNG or WebP photo.`);
  if (file.type && !(ACCEPTED_TYPES as readonly string[]).includes(file.type)) {
    throw new ImageInputError(
      `${quoted(name)} is ${file.type.startsWith('image/') ? `a ${file.type.slice(6).toUpperCase()} image` : `not an image (${file.type})`}. Choose a JPEG, PNG or WebP photo.`,
    );
  }
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
