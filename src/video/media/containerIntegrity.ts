/**
 * Cheap checks that a video file is complete, before any decoding: a download cut short or a half-copied file
 * still has a valid header, and demuxers then report "no video track" or simply stop early. Walking the top-level
 * structure (MP4 boxes; WebM's Segment size) names the truncation instead.
 */
import type { ContainerKind } from './sniffContainer';

/** Reads `length` bytes at `offset` (fewer at the end of the file). */
export type ReadRange = (offset: number, length: number) => Promise<Uint8Array>;

/** Top-level boxes walked at most (a fragmented MP4 has two per fragment). */
const MAX_BOXES = 100_000;

function fourcc(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);
}

/** Why an MP4/MOV file is incomplete, or null when its top-level boxes fit the file and include a 'moov'. */
export async function isobmffProblem(size: number, read: ReadRange): Promise<string | null> {
  let offset = 0;
  let sawMoov = false;
  for (let n = 0; offset < size; n++) {
    if (n >= MAX_BOXES) return null; // Too many boxes to walk cheaply; let the demuxer judge.
    const head = await read(offset, 16);
    if (head.length < 8) return `it ends inside a box header at byte ${offset} (the file is truncated)`;
    const view = new DataView(head.buffer, head.byteOffset, head.length);
    const type = fourcc(head, 4);
    if (!/^[\x20-\x7e]{4}$/.test(type)) return `its structure breaks at byte ${offset} (not an MP4 box there)`;
    let boxSize = view.getUint32(0);
    if (boxSize === 1) {
      if (head.length < 16) return `it ends inside a box header at byte ${offset} (the file is truncated)`;
      boxSize = Number(view.getBigUint64(8));
    } else if (boxSize === 0) boxSize = size - offset; // "to the end of the file"
    if (boxSize < 8) return `its '${type}' box at byte ${offset} has an impossible size (${boxSize})`;
    if (offset + boxSize > size) {
      return (
        `its '${type}' box needs ${offset + boxSize} bytes but the file has ${size}` +
        ` (the file is truncated, ${Math.round((100 * size) / (offset + boxSize))}% present)`
      );
    }
    if (type === 'moov') sawMoov = true;
    offset += boxSize;
  }
  return sawMoov ? null : "it has no 'moov' box, the index of its frames (the file is incomplete)";
}

/** A Matroska variable-length integer at `at`: its length in bytes and value (null for "unknown"). */
function readVint(b: Uint8Array, at: number): { length: number; value: number | null } | null {
  const first = b[at];
  if (first === undefined || first === 0) return null;
  const length = Math.clz32(first) - 23; // leading zeros within the byte, plus one
  if (at + length > b.length) return null;
  let value = first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    value = value * 256 + b[at + i];
    if (b[at + i] !== 0xff) allOnes = false;
  }
  return { length, value: allOnes ? null : value };
}

/** Why a WebM/MKV file is incomplete (its Segment is declared longer than the file), or null. */
export async function matroskaProblem(size: number, read: ReadRange): Promise<string | null> {
  const head = await read(0, 64);
  // EBML header: ID 1A45DFA3, then its size.
  const headerSize = readVint(head, 4);
  if (!headerSize || headerSize.value === null) return null;
  const segmentAt = 4 + headerSize.length + headerSize.value;
  const seg = await read(segmentAt, 12);
  if (seg.length < 5) return 'it ends right after its header (the file is truncated)';
  if (!(seg[0] === 0x18 && seg[1] === 0x53 && seg[2] === 0x80 && seg[3] === 0x67)) return null;
  const segmentSize = readVint(seg, 4);
  if (!segmentSize || segmentSize.value === null) return null; // unknown size (a live recording): cannot tell
  const end = segmentAt + 4 + segmentSize.length + segmentSize.value;
  if (end > size) {
    return `its Segment needs ${end} bytes but the file has ${size} (the file is truncated, ${Math.round((100 * size) / end)}% present)`;
  }
  return null;
}

/** The problem of a file of this kind, or null when it looks complete (or the kind has no cheap check). */
export function containerProblem(kind: ContainerKind | null, size: number, read: ReadRange): Promise<string | null> {
  if (kind === 'isobmff') return isobmffProblem(size, read);
  if (kind === 'matroska') return matroskaProblem(size, read);
  return Promise.resolve(null);
}
