/**
 * A folder on disk as still entries: its files and those of its direct subfolders (so `clip/` with `clip/masks/`,
 * or a DAVIS-style `clip/` with `frames/` and `masks/`, both list completely), read only when decoded.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { describeCause, VideoImportError } from './importError';
import type { StillEntry } from './stillSequence';

function fileEntry(root: string, relative: string): StillEntry {
  return { path: relative, read: async () => new Uint8Array(await readFile(join(root, relative))) };
}

export async function listFolderEntries(dir: string, label: string): Promise<StillEntry[]> {
  const entries: StillEntry[] = [];
  try {
    for (const item of await readdir(dir, { withFileTypes: true })) {
      if (item.isFile()) entries.push(fileEntry(dir, item.name));
      else if (item.isDirectory()) {
        for (const inner of await readdir(join(dir, item.name), { withFileTypes: true })) {
          if (inner.isFile()) entries.push(fileEntry(dir, `${item.name}/${inner.name}`));
        }
      }
    }
  } catch (cause) {
    throw new VideoImportError(
      'unsupported-file',
      label,
      `Cannot list the folder ${label} (${describeCause(cause)}).`,
      { cause },
    );
  }
  return entries;
}

/** For a folder named `frames`, its sibling `masks` folder when there is one (the DAVIS layout), else null. */
export async function siblingMasksFolder(dir: string): Promise<string | null> {
  if (basename(dir).toLowerCase() !== 'frames') return null;
  for (const name of ['masks', 'mask']) {
    const candidate = join(dirname(dir), name);
    try {
      if ((await stat(candidate)).isDirectory()) return candidate;
    } catch {
      // not there
    }
  }
  return null;
}
