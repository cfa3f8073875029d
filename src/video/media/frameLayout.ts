/**
 * Which files of a folder or zip are frames and which are masks. The DAVIS layout (frames/ and masks/ side by
 * side) and a folder of frames with a masks/ folder inside both work: an image under a folder named `masks` (or
 * `mask`) is a mask, every other PNG/JPEG is a frame. Frames must sit in one folder, masks in one folder, one
 * file per frame name. Other files (a README, .DS_Store) are ignored.
 */
import { VideoImportError } from './importError';
import { baseName, dirName, extensionOf, fileStem, isFrameImageName, isJunkPath, normalizePath } from './framePaths';
import { naturalSort } from './naturalSort';

export interface PathEntry {
  /** Relative path, '/'-separated (a zip entry name, a webkitRelativePath, a path under the picked folder). */
  path: string;
}

export interface FrameLayout<T extends PathEntry> {
  /** Frame files in natural order of their names. */
  frames: T[];
  /** Mask files in natural order (empty when there are none). */
  masks: T[];
  framesFolder: string;
  masksFolder: string | null;
  /** Paths that are neither frames nor masks, e.g. ['README.txt']. */
  ignored: string[];
}

const MASK_FOLDER = /^masks?$/i;

function isInMaskFolder(path: string): boolean {
  return dirName(path)
    .split('/')
    .some((s) => MASK_FOLDER.test(s));
}

function listFolders(folders: readonly string[]): string {
  const shown = folders.slice(0, 4).map((f) => (f === '' ? '(top level)' : `${f}/`));
  return shown.join(', ') + (folders.length > 4 ? ` and ${folders.length - 4} more` : '');
}

function oneFolder<T extends PathEntry>(group: readonly T[], what: string, source: string): string {
  const folders = [...new Set(group.map((e) => dirName(normalizePath(e.path))))].sort();
  if (folders.length > 1) {
    throw new VideoImportError(
      'frame-layout',
      source,
      `${source} holds ${what} in ${folders.length} folders (${listFolders(folders)}). Keep the frames in one folder, ` +
        'and their masks, if any, in a folder named masks.',
    );
  }
  return folders[0] ?? '';
}

function checkUniqueStems<T extends PathEntry>(group: readonly T[], what: string, source: string): void {
  const seen = new Map<string, string>();
  for (const e of group) {
    const stem = fileStem(e.path);
    const other = seen.get(stem);
    if (other !== undefined) {
      throw new VideoImportError(
        'frame-layout',
        source,
        `${source} has two ${what} named ${stem}: ${baseName(other)} and ${baseName(e.path)}. Keep one file per frame.`,
      );
    }
    seen.set(stem, e.path);
  }
}

/** Splits entries into frames and masks; throws 'no-frames' or 'frame-layout' (VideoImportError) when it cannot. */
export function layoutFrameEntries<T extends PathEntry>(entries: readonly T[], source: string): FrameLayout<T> {
  const frames: T[] = [];
  const masks: T[] = [];
  const ignored: string[] = [];
  for (const e of entries) {
    const path = normalizePath(e.path);
    if (path === '' || e.path.endsWith('/') || isJunkPath(path)) continue;
    if (!isFrameImageName(path)) ignored.push(path);
    else if (isInMaskFolder(path)) masks.push(e);
    else frames.push(e);
  }
  if (frames.length === 0) {
    const others = [...new Set(ignored.map((p) => extensionOf(p) || '(no extension)'))].slice(0, 6);
    const found = ignored.length ? ` (it holds ${ignored.length} other files: ${others.join(', ')})` : '';
    const onlyMasks = masks.length ? `, only ${masks.length} masks` : '';
    throw new VideoImportError('no-frames', source, `${source} has no PNG or JPEG frames${onlyMasks}${found}.`, {
      sourceFrameCount: 0,
    });
  }
  const framesFolder = oneFolder(frames, 'frames', source);
  const masksFolder = masks.length ? oneFolder(masks, 'masks', source) : null;
  checkUniqueStems(frames, 'frames', source);
  checkUniqueStems(masks, 'masks', source);
  const byName = (e: T) => baseName(normalizePath(e.path));
  return { frames: naturalSort(frames, byName), masks: naturalSort(masks, byName), framesFolder, masksFolder, ignored };
}

/** Mask files given on their own (a masks zip or folder): every PNG/JPEG, in one folder, natural order. */
export function layoutMaskEntries<T extends PathEntry>(entries: readonly T[], source: string): T[] {
  const masks = entries.filter((e) => {
    const path = normalizePath(e.path);
    return path !== '' && !e.path.endsWith('/') && !isJunkPath(path) && isFrameImageName(path);
  });
  if (masks.length === 0) {
    throw new VideoImportError('mask-mismatch', source, `${source} has no PNG or JPEG mask frames.`);
  }
  oneFolder(masks, 'masks', source);
  checkUniqueStems(masks, 'masks', source);
  return naturalSort(masks, (e) => baseName(normalizePath(e.path)));
}
