/**
 * The video editor's command line: `text2live edit-video <clip> --prompt "golden swan" --out DIR [options]`, on a
 * fitted atlas (`--atlas`) or fitting one first with the `atlas` command's options. Parsing is pure (tested on its
 * own); running lives in runVideoEdit.ts.
 */
import { join } from 'node:path';
import type { EditConfig } from '../edit/config';
import type { EditLayer } from '../video/edit/layerData';
import {
  VIDEO_PRESETS,
  VIDEO_QUALITY,
  VIDEO_QUALITY_LEVELS,
  videoPreset,
  type VideoPreset,
  type VideoPresetId,
  type VideoQuality,
} from '../video/edit/videoConfig';
import { DEFAULT_CRF } from '../video/media/ffmpegEncode.node.js';
import { parseAtlasArgs, type AtlasCommand } from './atlasCommand';
import { MODEL_OPTIONS, MODEL_OPTIONS_USAGE, parseModelChoice, type ModelChoice } from './modelOptions';
import { parseCommandLine, UsageError } from './usageError';

export interface VideoEditCommand {
  clip: string;
  /** A fitted atlas: an atlas.safetensors file, or the folder `text2live atlas` wrote it into. */
  atlas: string | null;
  /** Without --atlas: the fit to run first (the `atlas` command's options), into OUT/atlas/. */
  fit: AtlasCommand | null;
  /** What the edit layer shows; null: the preset's (or the session's). */
  prompt: string | null;
  /** What the whole edited frame shows; null: the prompt (or the preset's). */
  fullPrompt: string | null;
  /** What the clip shows (the direction loss's source text); null: the preset's, else "photo". */
  inputPrompt: string | null;
  /** Region of interest: the relevancy bootstrap for the whole run. */
  roi: string | null;
  /** null: the preset's, else defaultLayer() (the foreground when --src or --roi names the object). */
  layer: EditLayer | null;
  preset: VideoPresetId | null;
  quality: VideoQuality;
  steps: number | null;
  seed: number | null;
  model: string | null;
  precision: 'fp32' | 'fp16';
  modelSource: ModelChoice;
  out: string;
  /** edited.mp4's frame rate; null: the clip's (a video's own, 24 for frames). */
  fps: number | null;
  /** edited.mp4's libx264 CRF. */
  crf: number;
  /** Continue this session (its prompts, settings, layer and density) instead of starting a new edit. */
  resume: string | null;
}

/** The sub-folder of --out a fit-first run writes its atlas into. */
export const FIT_FOLDER = 'atlas';

const LAYERS: Record<string, EditLayer> = {
  fg: 'foreground',
  foreground: 'foreground',
  bg: 'background',
  background: 'background',
};

/** Words joined with ", " into lines of at most `width` characters, each indented by `indent` spaces. */
function wrapList(words: readonly string[], indent: number, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const [i, w] of words.entries()) {
    const word = i < words.length - 1 ? `${w},` : w;
    if (line && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => ' '.repeat(indent) + l).join('\n');
}

export const VIDEO_EDIT_USAGE = `Usage: text2live edit-video <clip> (--atlas <file|dir> | [atlas options]) --prompt <text> --out <dir> [options]

Edits one layer of a clip's layered-atlas decomposition with Text2LIVE on this machine's WebGPU adapter: trains an
edit of the layer's atlas, then warps it into every frame. Writes into --out: edited.mp4 (H.264, through ffmpeg on
PATH; without ffmpeg only the frames are written), frames/NNNNN.png (the edited frames), layer/NNNNN.png (the RGBA
edit layer over the original frames), atlas-edit.png (the edited atlas), log.json and session.safetensors.
Without --atlas the clip is decomposed first (as \`text2live atlas\` does) into --out/${FIT_FOLDER}/.

<clip> is the clip the atlas was fitted on: a video (needs ffmpeg) or a folder or zip of frames. It is imported
again the way the atlas recorded (frames, size).

Options:
  --atlas <file|dir>     a fitted atlas (atlas.safetensors, or the folder \`text2live atlas\` wrote)
  --prompt <text>        what the edit layer shows, e.g. "golden swan" (required unless --preset or --resume)
  --full-prompt <text>   what the whole edited frame shows (default: the prompt)
  --src <text>           what the clip shows, e.g. "swan" (default: "photo")
  --roi <text>           region to edit, e.g. "swan": initialises the layer from a CLIP relevancy map
  --layer <fg|bg>        the layer to edit (default: the preset's; else fg when --src or --roi names the object
                         and the decomposition has a foreground; else bg)
  --preset <id>          a reference video edit's prompts and layer:
${wrapList(
  VIDEO_PRESETS.map((p) => p.id),
  25,
  116,
)}
  --quality <level>      ${VIDEO_QUALITY_LEVELS.join(' | ')} (default: preview = ${VIDEO_QUALITY.preview.steps} steps at ${VIDEO_QUALITY.preview.density} texel per pixel)
  --steps <n>            override the number of optimizer steps
  --seed <n>             random seed (default: a random one, recorded in the session)
  --resume <session>     continue a session.safetensors of this clip and atlas (its prompts and settings)
  --fps <n>              edited.mp4's frame rate (default: the clip's; 24 for frames)
  --crf <n>              edited.mp4's quality, 0 (lossless) … 51 (default ${DEFAULT_CRF})
${MODEL_OPTIONS_USAGE}
  --out <dir>            output folder (required)
  -h, --help             this help

Atlas options (without --atlas; see text2live atlas --help):
  --masks <dir|auto>  --background-only  --start <n>  --frames <n>  --stride <n>  --size <WxH>
  --iters <n>  --atlas-seed <n>  --atlas-config <file.json>

Ctrl-C stops after the current step, then renders and writes every output and the session for the steps done.`;

/** The `atlas` command's options edit-video passes on (value options; --background-only is a flag). */
const FIT_OPTIONS = ['masks', 'start', 'frames', 'stride', 'size', 'iters', 'atlas-seed', 'atlas-config'] as const;
/** Their names in the `atlas` command. */
const FIT_RENAME: Record<string, string> = { 'atlas-seed': 'seed', 'atlas-config': 'config' };

function wholeNumber(name: string, v: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | null {
  if (v === undefined) return null;
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = max < Number.MAX_SAFE_INTEGER ? ` in ${min}…${max}` : '';
    throw new UsageError(
      `--${name} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer${range}, got "${v}"`,
    );
  }
  return n;
}

/** Parses `edit-video` arguments (without the leading "edit-video"). Null for --help. */
export function parseVideoEditArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): VideoEditCommand | null {
  const parsed = parseCommandLine(
    argv,
    {
      atlas: { type: 'string' },
      prompt: { type: 'string' },
      'full-prompt': { type: 'string' },
      src: { type: 'string' },
      roi: { type: 'string' },
      layer: { type: 'string' },
      preset: { type: 'string' },
      quality: { type: 'string' },
      steps: { type: 'string' },
      seed: { type: 'string' },
      resume: { type: 'string' },
      fps: { type: 'string' },
      crf: { type: 'string' },
      ...MODEL_OPTIONS,
      out: { type: 'string' },
      ...Object.fromEntries(FIT_OPTIONS.map((k) => [k, { type: 'string' as const }])),
      'background-only': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    { noun: 'clip', missing: 'missing the clip (the video, or folder or zip of frames, the atlas was fitted on)' },
  );
  if (!parsed) return null;
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const str = (k: string) => v[k] as string | undefined;
  const text = (k: string) => str(k)?.trim() || null;

  const out = text('out');
  if (!out) throw new UsageError('--out is required (the folder the edited video, frames and session go into)');
  const resume = text('resume');
  if (str('resume') !== undefined && !resume) throw new UsageError('--resume needs a session.safetensors file');
  if (resume) {
    const fixed = ['prompt', 'full-prompt', 'src', 'roi', 'layer', 'preset', 'quality', 'steps', 'seed'];
    const given = fixed.filter((k) => v[k] !== undefined);
    if (given.length) {
      throw new UsageError(
        `--resume continues the session with its own settings: drop ${given.map((k) => `--${k}`).join(', ')}`,
      );
    }
  }

  let preset: VideoPreset | null = null;
  if (v.preset !== undefined) {
    try {
      preset = videoPreset(String(v.preset).trim());
    } catch {
      throw new UsageError(`--preset must be one of ${VIDEO_PRESETS.map((p) => p.id).join(', ')}, got "${v.preset}"`);
    }
  }
  const prompt = text('prompt');
  if (str('prompt') !== undefined && !prompt) throw new UsageError('--prompt is empty');
  if (!prompt && !preset && !resume) {
    throw new UsageError('--prompt is required (what the edit layer shows, e.g. "golden swan"), or a --preset');
  }
  let layer: EditLayer | null = null;
  if (v.layer !== undefined) {
    layer = LAYERS[String(v.layer).trim().toLowerCase()] ?? null;
    if (!layer) throw new UsageError(`--layer must be fg or bg (foreground or background), got "${v.layer}"`);
  }
  const quality = (str('quality') ?? 'preview') as VideoQuality;
  if (!VIDEO_QUALITY_LEVELS.includes(quality)) {
    throw new UsageError(`--quality must be one of ${VIDEO_QUALITY_LEVELS.join(', ')}, got "${str('quality')}"`);
  }
  let fps: number | null = null;
  if (v.fps !== undefined) {
    fps = Number(v.fps);
    if (String(v.fps).trim() === '' || !(fps > 0 && fps <= 1000)) {
      throw new UsageError(`--fps must be a number of frames per second above 0 and at most 1000, got "${v.fps}"`);
    }
  }

  const atlas = text('atlas');
  if (str('atlas') !== undefined && !atlas)
    throw new UsageError('--atlas needs an atlas.safetensors file or its folder');
  const fitGiven = [...FIT_OPTIONS, 'background-only'].filter((k) => v[k] !== undefined);
  let fit: AtlasCommand | null = null;
  if (atlas && fitGiven.length) {
    throw new UsageError(
      `--atlas uses a fitted atlas, which records how it was made: ${fitGiven.map((k) => `--${k}`).join(', ')} ` +
        'apply only when fitting one (without --atlas)',
    );
  }
  if (!atlas) {
    const args: string[] = [parsed.positional];
    for (const k of FIT_OPTIONS) if (v[k] !== undefined) args.push(`--${FIT_RENAME[k] ?? k}`, String(v[k]));
    if (v['background-only']) args.push('--background-only');
    try {
      fit = parseAtlasArgs([...args, '--out', join(out, FIT_FOLDER)]);
    } catch (e) {
      // The atlas command's message, with this command's names for the renamed options.
      let message = (e as Error).message;
      for (const [ours, theirs] of Object.entries(FIT_RENAME)) message = message.replace(`--${theirs} `, `--${ours} `);
      throw new UsageError(message);
    }
  }

  const modelSource = parseModelChoice(v as Parameters<typeof parseModelChoice>[0], env);
  return {
    clip: parsed.positional,
    atlas,
    fit,
    prompt,
    fullPrompt: text('full-prompt'),
    inputPrompt: text('src'),
    roi: text('roi'),
    layer,
    preset: preset?.id ?? null,
    quality,
    steps: wholeNumber('steps', str('steps'), 1),
    seed: wholeNumber('seed', str('seed'), 0, 0xffffffff),
    model: modelSource.dir,
    precision: modelSource.precision,
    modelSource,
    out,
    fps,
    crf: wholeNumber('crf', str('crf'), 0, 51) ?? DEFAULT_CRF,
    resume,
  };
}

/**
 * The edit's settings from the command (prompts, steps, seed, bootstrap) on top of the preset's, before the quality
 * level and the video values are applied (resolveVideoConfig). The preset's own step count (the reference's) is kept
 * only at the reference quality. `srcText` stays unset when nothing names it, so that defaultLayer() can tell;
 * withSourceDefault() fills it in.
 */
export function videoEditSettings(cmd: VideoEditCommand): {
  settings: Partial<EditConfig>;
  preset: VideoPreset | null;
} {
  const preset = cmd.preset ? videoPreset(cmd.preset) : null;
  const settings: Partial<EditConfig> = { ...(preset?.settings ?? {}) };
  if (cmd.quality !== 'reference') delete settings.nEpochs;
  if (cmd.prompt) {
    settings.screenText = cmd.prompt;
    settings.compText = cmd.fullPrompt ?? cmd.prompt;
  } else if (cmd.fullPrompt) settings.compText = cmd.fullPrompt;
  if (cmd.inputPrompt) settings.srcText = cmd.inputPrompt;
  if (cmd.steps !== null) settings.nEpochs = cmd.steps;
  if (cmd.roi) {
    settings.bootstrapText = cmd.roi;
    settings.bootstrapEpoch = settings.nEpochs ?? VIDEO_QUALITY[cmd.quality].steps;
  }
  if (cmd.seed !== null) settings.seed = cmd.seed;
  return { settings, preset };
}

/** The source text's default ("photo", as `text2live edit`) where neither --src nor the preset gives one. */
export function withSourceDefault(settings: Partial<EditConfig>): Partial<EditConfig> {
  const s = settings.srcText;
  const named = Array.isArray(s) ? s.some((x) => String(x).trim()) : !!String(s ?? '').trim();
  return named ? settings : { ...settings, srcText: 'photo' };
}
