/**
 * A FrameSequence over still image files (a frame folder, a zip, picked files), in the order given. The platform
 * brings the decoder: WebCodecs' ImageDecoder in the browser (stillDecoder.browser.ts), sharp in Node
 * (stillDecoder.node.ts).
 */
import type { RgbaImage } from '../../edit/jobTypes';
import type { FrameSequence } from './frameSequence';
import { asImportError, describeCause, throwIfCancelled, VideoImportError } from './importError';
import { baseName, normalizePath } from './framePaths';

/** A file whose bytes can be read when needed (so a trimmed import reads only the kept files). */
export interface StillEntry {
  path: string;
  read(): Promise<Uint8Array>;
}

/** Decodes one PNG/JPEG into upright 8-bit RGBA; throws any error for bytes it cannot decode. */
export type StillDecoder = (bytes: Uint8Array, name: string) => Promise<RgbaImage>;

export function stillSequence(entries: readonly StillEntry[], decode: StillDecoder, label: string): FrameSequence {
  const names = entries.map((e) => baseName(normalizePath(e.path)));
  return {
    label,
    frameCount: entries.length,
    frameNames: names,
    displaySize: null,
    frameRate: null,
    frameLabel: (index) => names[index] ?? `frame ${index}`,
    async read(indices, onFrame, signal) {
      for (let position = 0; position < indices.length; position++) {
        throwIfCancelled(signal, label);
        const entry = entries[indices[position]];
        const name = names[indices[position]];
        let frame: RgbaImage;
        try {
          const bytes = await entry.read();
          if (bytes.length === 0) throw new VideoImportError('corrupt', label, `${name} in ${label} is empty.`);
          frame = await decode(bytes, name);
        } catch (e) {
          throw asImportError(
            e,
            label,
            signal,
            (cause) =>
              new VideoImportError('corrupt', label, `${name} in ${label} is corrupt (${describeCause(cause)}).`, {
                cause,
              }),
          );
        }
        await onFrame(frame, position);
      }
    },
    close() {},
  };
}
