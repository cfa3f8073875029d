/**
 * Codecs in words for messages ("HEVC (hvc1.1.6.L93.B0) cannot be decoded by this browser"): mediabunny's codec
 * names, ffprobe's codec_name values and the container four-character codes of codecs mediabunny does not know.
 */
const NAMES: Record<string, string> = {
  // mediabunny VideoCodec
  avc: 'H.264',
  hevc: 'HEVC',
  vp8: 'VP8',
  vp9: 'VP9',
  av1: 'AV1',
  // mediabunny AudioCodec (an export says which audio it could not copy)
  aac: 'AAC',
  opus: 'Opus',
  mp3: 'MP3',
  vorbis: 'Vorbis',
  flac: 'FLAC',
  ac3: 'AC-3',
  eac3: 'E-AC-3',
  // ffprobe codec_name
  h264: 'H.264',
  prores: 'ProRes',
  mpeg4: 'MPEG-4 Part 2',
  mjpeg: 'Motion JPEG',
  mpeg2video: 'MPEG-2',
  dnxhd: 'DNxHD',
  // four-character codes
  avc1: 'H.264',
  avc3: 'H.264',
  hvc1: 'HEVC',
  hev1: 'HEVC',
  vp08: 'VP8',
  vp09: 'VP9',
  av01: 'AV1',
  apch: 'ProRes 422 HQ',
  apcn: 'ProRes 422',
  apcs: 'ProRes 422 LT',
  apco: 'ProRes 422 Proxy',
  ap4h: 'ProRes 4444',
  ap4x: 'ProRes 4444 XQ',
  mp4v: 'MPEG-4 Part 2',
  jpeg: 'Motion JPEG',
  mjpa: 'Motion JPEG',
  dvh1: 'Dolby Vision',
  dvhe: 'Dolby Vision',
};

/**
 * "HEVC (hvc1.1.6.L93.B0)", "H.264", "an unknown codec (xyz1)". `codec` is a codec name (mediabunny's, ffprobe's or
 * a four-character code), `codecString` the full codec parameter string when there is one.
 */
export function describeCodec(codec: string | null, codecString?: string | null): string {
  const fourcc = codecString ? codecString.split('.')[0].toLowerCase() : null;
  const name = (codec ? NAMES[codec.toLowerCase()] : undefined) ?? (fourcc ? NAMES[fourcc] : undefined);
  const tag = codecString || (name ? null : codec);
  if (!name) return tag ? `an unknown codec (${tag})` : 'an unknown codec';
  return tag ? `${name} (${tag})` : name;
}
