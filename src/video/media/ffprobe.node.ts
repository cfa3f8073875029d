/**
 * What ffprobe says about a video file's first video stream: codec, stored and display size, rotation, frame rate
 * and frame count (`-count_packets`: counted from the container, nothing decoded).
 */
import { describeCodec } from './codecNames';
import { ffmpegMissingError, runTool } from './ffmpegTools.node.js';
import { describeCause, VideoImportError } from './importError';
import { isAudioContainer, isVideoContainer, type ContainerKind } from './sniffContainer';
import type { Size } from './workingSize';

export interface FfprobeVideo {
  /** ffprobe's stream index, for `-map 0:<index>`. */
  streamIndex: number;
  /** The codec in words, e.g. "H.264 (avc1)". */
  codec: string;
  /** Size of the frames ffmpeg outputs (after its automatic rotation, before any pixel-aspect correction). */
  stored: Size;
  /** Display size: square pixels, after rotation. */
  display: Size;
  frameCount: number;
  frameRate: number;
}

export const FFPROBE_ARGS = [
  '-v',
  'error',
  '-count_packets',
  '-show_entries',
  'stream=index,codec_type,codec_name,codec_tag_string,width,height,sample_aspect_ratio,avg_frame_rate,' +
    'r_frame_rate,nb_read_packets:stream_side_data=rotation:stream_disposition=attached_pic',
  '-of',
  'json',
];

interface ProbeStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  codec_tag_string?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  nb_read_packets?: string;
  side_data_list?: { rotation?: number }[];
  disposition?: { attached_pic?: number };
}

/** "30000/1001" → 29.97…; null for "0/0" or garbage. */
export function parseRational(text: string | undefined): number | null {
  const m = /^(\d+(?:\.\d+)?)(?:[/:](\d+(?:\.\d+)?))?$/.exec(text ?? '');
  if (!m) return null;
  const value = Number(m[1]) / (m[2] === undefined ? 1 : Number(m[2]));
  return Number.isFinite(value) && value > 0 ? value : null;
}

/**
 * The first video stream of ffprobe's JSON (cover art excluded), or null when there is none. Throws on JSON that
 * is not ffprobe's.
 */
export function parseFfprobeVideo(json: string): FfprobeVideo | null {
  const parsed = JSON.parse(json) as { streams?: ProbeStream[] };
  const stream = (parsed.streams ?? []).find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  if (!stream) return null;
  const width = stream.width ?? 0;
  const height = stream.height ?? 0;
  const rotation = stream.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation ?? 0;
  const quarterTurn = Math.abs(Math.round(rotation / 90)) % 2 === 1;
  const aspect = parseRational(stream.sample_aspect_ratio) ?? 1;
  const squareWidth = Math.round(width * aspect);
  const tag =
    stream.codec_tag_string && /^[a-z0-9]{4}$/i.test(stream.codec_tag_string) ? stream.codec_tag_string : null;
  return {
    streamIndex: stream.index ?? 0,
    codec: describeCodec(stream.codec_name ?? null, tag),
    stored: quarterTurn ? { width: height, height: width } : { width, height },
    display: quarterTurn ? { width: height, height: squareWidth } : { width: squareWidth, height },
    frameCount: Number(stream.nb_read_packets ?? 0) || 0,
    frameRate: parseRational(stream.avg_frame_rate) ?? parseRational(stream.r_frame_rate) ?? 0,
  };
}

/** The last non-empty line of a tool's stderr, without the file name ffmpeg prefixes. */
export function lastErrorLine(stderr: string, path: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const line = lines[lines.length - 1] ?? 'no message';
  return line.startsWith(`${path}: `) ? line.slice(path.length + 2) : line;
}

/** Runs ffprobe on `path`; throws VideoImportError ('corrupt', 'unsupported-file', 'no-video-track', 'no-frames'). */
export async function probeWithFfprobe(
  ffprobe: string,
  path: string,
  label: string,
  kind: ContainerKind | null,
  env: NodeJS.ProcessEnv,
): Promise<FfprobeVideo> {
  let result;
  try {
    result = await runTool(ffprobe, [...FFPROBE_ARGS, path], env);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') throw ffmpegMissingError(label, ['ffprobe'], cause);
    throw new VideoImportError('corrupt', label, `ffprobe could not run on ${label} (${describeCause(cause)}).`, {
      cause,
    });
  }
  if (result.code !== 0) {
    const why = lastErrorLine(result.stderr, path);
    if (isVideoContainer(kind)) {
      throw new VideoImportError('corrupt', label, `${label} cannot be read: ${why}.`);
    }
    throw new VideoImportError(
      'unsupported-file',
      label,
      `${label} is not a video ffmpeg can read (${why}); use MP4, MOV or WebM, or a folder or zip of PNG/JPEG frames.`,
    );
  }
  let video: FfprobeVideo | null;
  try {
    video = parseFfprobeVideo(result.stdout);
  } catch (cause) {
    throw new VideoImportError(
      'corrupt',
      label,
      `ffprobe's report on ${label} is unreadable (${describeCause(cause)}).`,
      { cause },
    );
  }
  if (!video) {
    const audio = /"codec_type":\s*"audio"/.test(result.stdout) || isAudioContainer(kind);
    throw new VideoImportError(
      'no-video-track',
      label,
      `${label} has no video track${audio ? ' (it holds only audio)' : ''}.`,
    );
  }
  if (video.frameCount === 0) {
    throw new VideoImportError('no-frames', label, `The video track of ${label} has no frames.`, {
      sourceFrameCount: 0,
    });
  }
  if (video.stored.width < 1 || video.stored.height < 1) {
    throw new VideoImportError(
      'corrupt',
      label,
      `${label} declares a video of ${video.stored.width}×${video.stored.height} px.`,
    );
  }
  return video;
}
