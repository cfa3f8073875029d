/** Path helpers for frame files in folders, zips and the browser's folder pick ('/'-separated relative paths). */

/** The image types a frame folder or zip may hold. */
export const FRAME_EXTENSIONS: readonly string[] = ['png', 'jpg', 'jpeg'];

/** 'a\\b/./c.png' → 'a/b/c.png'; no leading slash. */
export function normalizePath(path: string): string {
  return path
    .replace(/\\/g, '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

export function baseName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

/** The folder part ('' for a top-level name). */
export function dirName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** Lower-case extension without the dot ('' when none). */
export function extensionOf(name: string): string {
  const base = baseName(name);
  const i = base.lastIndexOf('.');
  return i <= 0 ? '' : base.slice(i + 1).toLowerCase();
}

/** The name without its extension: what pairs a frame with its mask (00000.jpg ↔ 00000.png). */
export function fileStem(name: string): string {
  const base = baseName(name);
  const i = base.lastIndexOf('.');
  return i <= 0 ? base : base.slice(0, i);
}

export function isFrameImageName(name: string): boolean {
  return FRAME_EXTENSIONS.includes(extensionOf(name));
}

/** Files no one meant to import: hidden files and folders (.DS_Store, ._x), macOS zip metadata, Windows thumbnails. */
export function isJunkPath(path: string): boolean {
  const segments = normalizePath(path).split('/');
  return segments.some((s) => s.startsWith('.') || s === '__MACOSX') || /^thumbs\.db$/i.test(baseName(path));
}
