/** PNG/JPEG frames to RGBA in Node: sharp, through the project's image reader (EXIF orientation applied). */
import { decodeImageBuffer, ImageDecodeError } from '../../edit/imageIO.node.js';
import { sniffContainer } from './sniffContainer';
import type { StillDecoder } from './stillSequence';

/** The StillDecoder of Node. Failures carry sharp's own words; stillSequence names the file. */
export const decodeStillInNode: StillDecoder = async (bytes, name) => {
  const kind = sniffContainer(bytes.subarray(0, 16));
  if (kind !== 'png' && kind !== 'jpeg') throw new Error('not a PNG or JPEG image');
  try {
    return await decodeImageBuffer(bytes, name);
  } catch (e) {
    // ImageDecodeError's message repeats the name; its cause is libvips' account of what is wrong.
    if (e instanceof ImageDecodeError && e.cause instanceof Error) throw new Error(e.cause.message, { cause: e });
    throw e;
  }
};
