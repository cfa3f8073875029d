/**
 * PNG/JPEG frames to RGBA in the browser (page or worker) without a canvas: WebCodecs' ImageDecoder gives a
 * VideoFrame, copied out with `copyTo(…, { format: 'RGBA' })`. Where ImageDecoder is missing (Safari),
 * createImageBitmap + `new VideoFrame(bitmap)` does the same.
 */
import type { RgbaImage } from '../../edit/jobTypes';
import { sniffContainer } from './sniffContainer';
import type { StillDecoder } from './stillSequence';

async function frameToRgba(frame: VideoFrame): Promise<RgbaImage> {
  try {
    const width = frame.visibleRect?.width ?? frame.codedWidth;
    const height = frame.visibleRect?.height ?? frame.codedHeight;
    const data = new Uint8ClampedArray(width * height * 4);
    await frame.copyTo(data, { format: 'RGBA', colorSpace: 'srgb' });
    return { width, height, data };
  } finally {
    frame.close();
  }
}

async function decodeWithImageDecoder(bytes: Uint8Array, type: string): Promise<RgbaImage> {
  // A copy: ImageDecoder may detach (transfer) the buffer it is given, and zip entries share the zip's buffer.
  const decoder = new ImageDecoder({ data: bytes.slice(), type, colorSpaceConversion: 'default' });
  try {
    const { image } = await decoder.decode({ frameIndex: 0, completeFramesOnly: true });
    return await frameToRgba(image);
  } finally {
    decoder.close();
  }
}

async function decodeWithBitmap(bytes: Uint8Array, type: string): Promise<RgbaImage> {
  const bitmap = await createImageBitmap(new Blob([bytes.slice()], { type }));
  try {
    return await frameToRgba(new VideoFrame(bitmap, { timestamp: 0 }));
  } finally {
    bitmap.close();
  }
}

/**
 * The StillDecoder of the browser. The type comes from the bytes (a file's extension or MIME type can be wrong);
 * failures are thrown as they are, and stillSequence names the file.
 */
export const decodeStillInBrowser: StillDecoder = async (bytes) => {
  const kind = sniffContainer(bytes.subarray(0, 16));
  if (kind !== 'png' && kind !== 'jpeg') throw new Error('not a PNG or JPEG image');
  const type = kind === 'png' ? 'image/png' : 'image/jpeg';
  return typeof ImageDecoder === 'function' ? decodeWithImageDecoder(bytes, type) : decodeWithBitmap(bytes, type);
};
