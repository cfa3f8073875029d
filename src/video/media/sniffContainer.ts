/**
 * What a file is, from its first bytes (the name's extension can lie, and a browser's File.type is often empty):
 * enough to route a drop to the video decoder or the zip reader, and to tell "not a video" from "a broken video".
 */
export type ContainerKind =
  | 'isobmff' // MP4, MOV, M4V, 3GP
  | 'matroska' // WebM, MKV
  | 'zip'
  | 'png'
  | 'jpeg'
  | 'gif'
  | 'webp'
  | 'wave'
  | 'avi'
  | 'ogg'
  | 'flac'
  | 'mp3'
  | 'mpeg-ts';

/** How many leading bytes sniffContainer looks at. */
export const SNIFF_BYTES = 512;

const ISOBMFF_FIRST_BOXES = new Set(['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pnot', 'styp']);

function ascii(b: Uint8Array, start: number, length: number): string {
  return String.fromCharCode(...b.subarray(start, start + length));
}

function startsWith(b: Uint8Array, bytes: readonly number[], at = 0): boolean {
  return b.length >= at + bytes.length && bytes.every((v, i) => b[at + i] === v);
}

export function sniffContainer(head: Uint8Array): ContainerKind | null {
  if (head.length >= 8 && ISOBMFF_FIRST_BOXES.has(ascii(head, 4, 4))) return 'isobmff';
  if (startsWith(head, [0x1a, 0x45, 0xdf, 0xa3])) return 'matroska';
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return 'zip';
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (head.length >= 6 && ascii(head, 0, 4) === 'GIF8') return 'gif';
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF') {
    const form = ascii(head, 8, 4);
    if (form === 'WAVE') return 'wave';
    if (form === 'AVI ') return 'avi';
    if (form === 'WEBP') return 'webp';
  }
  if (head.length >= 4 && ascii(head, 0, 4) === 'OggS') return 'ogg';
  if (head.length >= 4 && ascii(head, 0, 4) === 'fLaC') return 'flac';
  if (head.length >= 3 && ascii(head, 0, 3) === 'ID3') return 'mp3';
  if (head.length >= 2 && head[0] === 0xff && (head[1] & 0xe0) === 0xe0 && (head[1] & 0x06) !== 0) return 'mp3';
  if (head.length >= 377 && head[0] === 0x47 && head[188] === 0x47 && head[376] === 0x47) return 'mpeg-ts';
  return null;
}

/** Containers that normally hold video. */
export function isVideoContainer(kind: ContainerKind | null): boolean {
  return kind === 'isobmff' || kind === 'matroska' || kind === 'avi' || kind === 'mpeg-ts';
}

/** Containers that hold audio only. */
export function isAudioContainer(kind: ContainerKind | null): boolean {
  return kind === 'wave' || kind === 'flac' || kind === 'mp3';
}

export function isStillImage(kind: ContainerKind | null): boolean {
  return kind === 'png' || kind === 'jpeg' || kind === 'gif' || kind === 'webp';
}
