/**
 * The frames of an edited clip as one zip of PNGs (the "frames" download, and the fallback where the browser cannot
 * encode video). PNG is already deflated, so entries are stored as they are (fflate's ZipPassThrough, method 0: the
 * same as level 0, without a deflate wrapper around each file). Frames are asked for one at a time and go straight
 * into the archive stream, so memory holds the growing zip and one PNG, never every PNG twice.
 *
 * Entry names: `${prefix}00000.png`, `${prefix}00001.png`, … (5 digits, 0-based; the import reads them back in that
 * order, naturalSort.ts). A `prefix` such as 'frames/' puts them in a folder.
 */
import { Zip, ZipPassThrough } from 'fflate';
import { throwIfEncodeCancelled, VideoEncodeError } from './encodeError';

export interface ZipFramesOptions {
  /** Put before every entry name, e.g. 'frames/' or 'edit-'; default ''. */
  prefix?: string;
  /** After each frame is in the zip: (frames done, count). */
  onProgress?: (done: number, total: number) => void;
  /** Stops the zip: a VideoEncodeError 'cancelled' is thrown and nothing is returned. */
  signal?: AbortSignal;
}

const WHAT = 'the frames zip';

/** The entry name of frame `index`. */
export function frameEntryName(index: number, prefix = ''): string {
  return `${prefix}${String(index).padStart(5, '0')}.png`;
}

/**
 * A zip of `count` PNG frames, `frame(i)` giving frame i's PNG bytes (asked for in order, once each; its errors pass
 * through). Throws VideoEncodeError 'invalid' for a bad count and 'cancelled' when the signal fires.
 */
export async function zipFrames(
  count: number,
  frame: (index: number) => Promise<Uint8Array>,
  opts: ZipFramesOptions = {},
): Promise<Uint8Array> {
  if (!Number.isInteger(count) || count < 0) {
    throw new VideoEncodeError('invalid', `A frames zip needs a whole number of frames, got ${count}.`);
  }
  const chunks: Uint8Array[] = [];
  // An object, not two lets: TypeScript cannot see the callback assign them and would narrow them to their start.
  const state: { failure: Error | null; ended: boolean } = { failure: null, ended: false };
  // ZipPassThrough entries are written synchronously: each push has emitted its bytes when it returns.
  const zip = new Zip((err, chunk, final) => {
    if (err) state.failure ??= err;
    else chunks.push(chunk);
    if (final) state.ended = true;
  });
  for (let i = 0; i < count; i++) {
    throwIfEncodeCancelled(opts.signal, WHAT);
    const png = await frame(i);
    throwIfEncodeCancelled(opts.signal, WHAT); // a stop during the render wins over its frame
    const entry = new ZipPassThrough(frameEntryName(i, opts.prefix));
    zip.add(entry);
    entry.push(png, true);
    if (state.failure) throw new VideoEncodeError('failed', `Zipping frame ${i} failed (${state.failure.message}).`);
    opts.onProgress?.(i + 1, count);
  }
  zip.end();
  if (state.failure || !state.ended) {
    const why = state.failure?.message ?? 'the archive did not end';
    throw new VideoEncodeError('failed', `The frames zip could not be finished (${why}).`);
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
