/**
 * The size an image file declares in its header (PNG IHDR, JPEG SOFn, WebP VP8 / VP8L / VP8X), read from its first
 * bytes without decoding. The page uses it to refuse a decompression bomb (a small file declaring a huge image)
 * before the browser's decoder allocates the pixels. Pure: browser and Node.
 *
 * Returns null when the bytes are not one of these formats or the header is incomplete or damaged; the decoder
 * then has the last word (and reports damaged files itself).
 */

export interface DeclaredImageSize {
  format: 'png' | 'jpeg' | 'webp';
  width: number;
  height: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function ascii(bytes: Uint8Array, at: number, text: string): boolean {
  if (at + text.length > bytes.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

const u16be = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];
const u16le = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8);
const u24le = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8) | (b[at + 2] << 16);
const u32le = (b: Uint8Array, at: number) => (u16le(b, at) | (u16le(b, at + 2) << 16)) >>> 0;
const u32be = (b: Uint8Array, at: number) => ((b[at] << 24) >>> 0) + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);

function png(b: Uint8Array): DeclaredImageSize | null {
  // Signature, then the IHDR chunk first: length (4), "IHDR", width, height (big-endian).
  if (b.length < 24 || !ascii(b, 12, 'IHDR')) return null;
  return { format: 'png', width: u32be(b, 16), height: u32be(b, 20) };
}

/** SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range. */
const isStartOfFrame = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

function jpeg(b: Uint8Array): DeclaredImageSize | null {
  // Segments after SOI: FF, marker, big-endian length (counting itself), payload. Every step moves forward.
  let pos = 2;
  while (pos + 4 <= b.length) {
    if (b[pos] !== 0xff) return null;
    const marker = b[pos + 1];
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      pos += 2; // standalone markers (TEM, RSTn, SOI)
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null; // end of image or start of scan before any frame header
    const length = u16be(b, pos + 2);
    if (length < 2) return null;
    if (isStartOfFrame(marker)) {
      if (pos + 9 > b.length) return null;
      const height = u16be(b, pos + 5);
      // Height 0: defined later by a DNL marker; leave it to the decoder.
      return height === 0 ? null : { format: 'jpeg', width: u16be(b, pos + 7), height };
    }
    pos += 2 + length;
  }
  return null;
}

function webp(b: Uint8Array): DeclaredImageSize | null {
  // RIFF container: "RIFF", size, "WEBP", then the first chunk's fourcc at 12 and its payload at 20.
  if (ascii(b, 12, 'VP8X') && b.length >= 30) {
    return { format: 'webp', width: u24le(b, 24) + 1, height: u24le(b, 27) + 1 };
  }
  if (ascii(b, 12, 'VP8L') && b.length >= 25 && b[20] === 0x2f) {
    // A little-endian bit stream: 14 bits width − 1, then 14 bits height − 1.
    const bits = u32le(b, 21);
    return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (ascii(b, 12, 'VP8 ') && b.length >= 30 && b[23] === 0x9d && b[24] === 0x01 && b[25] === 0x2a) {
    return { format: 'webp', width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
  }
  return null;
}

/** The declared size of a PNG, JPEG or WebP file from its first bytes, or null (see above). */
export function readDeclaredImageSize(bytes: Uint8Array): DeclaredImageSize | null {
  if (PNG_SIGNATURE.every((v, i) => bytes[i] === v)) return png(bytes);
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return jpeg(bytes);
  if (ascii(bytes, 0, 'RIFF') && ascii(bytes, 8, 'WEBP')) return webp(bytes);
  return null;
}
