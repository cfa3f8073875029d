/** HTTP byte ranges (RFC 9110 §14) as a resumed download needs them: the request header and the answer's Content-Range. */

/** `Range: bytes=<offset>-`: everything from `offset` on. */
export function rangeFrom(offset: number): string {
  return `bytes=${offset}-`;
}

export interface ContentRange {
  /** First and last byte of the part sent; null for an unsatisfied range (`bytes *\/<size>`, with a 416). */
  start: number | null;
  end: number | null;
  /** Size of the whole file; null when the server wrote `*`. */
  size: number | null;
}

/** Parses `bytes 100-199/200`, `bytes 100-199/*` and `bytes *\/200`; null for anything else or a missing header. */
export function parseContentRange(header: string | null): ContentRange | null {
  if (header === null) return null;
  const part = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(header);
  if (part) {
    const start = Number(part[1]);
    const end = Number(part[2]);
    const size = part[3] === '*' ? null : Number(part[3]);
    if (end < start || (size !== null && end >= size)) return null;
    return { start, end, size };
  }
  const unsatisfied = /^\s*bytes\s+\*\/(\d+)\s*$/i.exec(header);
  return unsatisfied ? { start: null, end: null, size: Number(unsatisfied[1]) } : null;
}

/** A non-negative integer header (Content-Length, X-Linked-Size), or null. */
export function byteCountHeader(header: string | null): number | null {
  return header !== null && /^\s*\d+\s*$/.test(header) ? Number(header) : null;
}
