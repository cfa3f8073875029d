/**
 * What a server states about a file's bytes, and the check against it.
 *
 * The Hugging Face Hub answers `/resolve/` for an LFS file (every ONNX file) with a redirect that carries
 * `X-Linked-Size` and `X-Linked-Etag: "<sha256 of the file>"`; a small (non-LFS) file is answered directly and its
 * `ETag` is the git blob id (a SHA-1 of `blob <len>\0<content>`, 40 hex digits), not a hash of the content we could
 * check. So a SHA-256 is taken from `X-Linked-Etag`, or from `ETag` only on a response that also has `X-Linked-Size`
 * (the Hub's LFS answer), and only when it is 64 hex digits. A CDN's own ETag never counts.
 *
 * Browsers follow redirects inside `fetch` and never show the redirect's headers (a `manual` redirect is opaque), so
 * in the page a file from the real Hub is checked by size only; servers that answer directly with these headers (a
 * mirror, a self-hosted folder, the tests) get the hash check there too. Node reads the redirect (`readRedirects`).
 */

import { byteCountHeader } from './httpRange';

export interface StatedIntegrity {
  /** The whole file's size from `X-Linked-Size`, when stated. */
  linkedSize: number | null;
  /** Lowercase hex SHA-256, when stated. */
  sha256: string | null;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Strips `W/` and quotes from an entity tag; lowercase. */
export function unquoteEtag(etag: string | null): string | null {
  if (etag === null) return null;
  const bare = etag
    .trim()
    .replace(/^W\//i, '')
    .replace(/^"(.*)"$/, '$1');
  return bare.length > 0 ? bare.toLowerCase() : null;
}

export function statedIntegrity(headers: Headers): StatedIntegrity {
  const linkedSize = byteCountHeader(headers.get('x-linked-size'));
  const linked = unquoteEtag(headers.get('x-linked-etag'));
  const plain =
    linkedSize !== null && !/^\s*W\//i.test(headers.get('etag') ?? '') ? unquoteEtag(headers.get('etag')) : null;
  const sha256 = [linked, plain].find((v): v is string => v !== null && SHA256_HEX.test(v)) ?? null;
  return { linkedSize, sha256 };
}

/** Merges what a redirect said with what the final response says (the redirect's statements win: they are the Hub's). */
export function mergeIntegrity(first: StatedIntegrity, then: StatedIntegrity): StatedIntegrity {
  return { linkedSize: first.linkedSize ?? then.linkedSize, sha256: first.sha256 ?? then.sha256 };
}

export function toHex(digest: ArrayBuffer): string {
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * SHA-256 of bytes held in memory, through WebCrypto (browsers in secure contexts, Node ≥ 19). Returns null where
 * `crypto.subtle` is missing (a page on plain http off localhost): the file is then checked by size only.
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string | null> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return null;
  return toHex(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}
