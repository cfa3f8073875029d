/**
 * The files of a zip (fflate), listed without inflating anything and inflated one at a time when read, so a
 * trimmed import of a large zip inflates only the kept frames. Works in the browser and in Node.
 */
import { unzipSync } from 'fflate';
import { describeCause, VideoImportError } from './importError';
import type { StillEntry } from './stillSequence';

export function listZipEntries(zip: Uint8Array, label: string): StillEntry[] {
  const names: string[] = [];
  try {
    // The filter sees every entry of the central directory; returning false skips its inflation.
    unzipSync(zip, {
      filter: (file) => {
        if (!file.name.endsWith('/')) names.push(file.name);
        return false;
      },
    });
  } catch (cause) {
    throw new VideoImportError('corrupt', label, `${label} is not a readable zip (${describeCause(cause)}).`, {
      cause,
    });
  }
  return names.map((name) => ({
    path: name,
    async read() {
      let files: Record<string, Uint8Array>;
      try {
        files = unzipSync(zip, { filter: (file) => file.name === name });
      } catch (cause) {
        throw new VideoImportError(
          'corrupt',
          label,
          `Cannot inflate ${name} from ${label} (${describeCause(cause)}).`,
          {
            cause,
          },
        );
      }
      const bytes = files[name];
      if (!bytes) throw new VideoImportError('corrupt', label, `${name} is missing from ${label}.`);
      return bytes;
    },
  }));
}
