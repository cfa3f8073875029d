/**
 * Runs `text2live edit-video`: the decomposition (a given atlas file, or `text2live atlas` run first into
 * OUT/atlas/), the clip imported again as the atlas recorded, the edited layer's data at the quality's density, the
 * video job's steps with a progress line, then every frame rendered and written:
 *   frames/NNNNN.png   the edited frames (named by source frame, as the atlas command's renders)
 *   layer/NNNNN.png    the RGBA edit layer over the original frames
 *   atlas-edit.png     the edited atlas (the layer's raster crop under the edit)
 *   edited.mp4         the edited frames as H.264 through the system ffmpeg, with the clip's audio (frames only
 *                      without ffmpeg, said so)
 *   session.safetensors, log.json
 * Ctrl-C (io.signal) stops after the current step; everything is still rendered and written for the steps done.
 * Every file is written atomically.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createClipModel } from '../clip/clipModel';
import { loadModelFromDirectory } from '../clip/modelDirectory';
import type { EditConfig } from '../edit/config';
import type { LossTerms, RgbaImage } from '../edit/jobTypes';
import { nodeEngine } from '../gpu/node';
import { decodeSafetensors } from '../nn/safetensors';
import { loadAtlas, readAtlasInfo, type AtlasFileInfo } from '../video/atlas/atlasFile';
import { layerData, LayerDataError, type EditLayer } from '../video/edit/layerData';
import { defaultLayer, resolveVideoConfig, VIDEO_QUALITY, type VideoQuality } from '../video/edit/videoConfig';
import { readVideoSettings, VideoEditJob } from '../video/edit/videoJob';
import { encodeVideo, VideoEncodeError, type EncodeVideoResult } from '../video/media/ffmpegEncode.node.js';
import { findOnPath } from '../video/media/ffmpegTools.node.js';
import type { VideoClip } from '../video/media/videoClip';
import { importAtlasClip } from './atlasClip';
import { ATLAS_FILE, frameStem, writeAtomic, writePngAtomic } from './atlasOutputs';
import { modelFolder } from './modelFolder';
import { progressLine, type RunIo } from './runEdit';
import { runAtlas } from './runAtlas';
import { videoEditSettings, withSourceDefault, type VideoEditCommand } from './videoEditCommand';

export interface VideoEditIo extends RunIo {
  /** The environment ffmpeg is looked for in (PATH) and run with; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface VideoEditResult {
  outDir: string;
  /** Where the run ended: 'atlas' when Ctrl-C stopped the fit it ran first (no edit then). */
  stage: 'atlas' | 'edit';
  interrupted: boolean;
  stepsDone: number;
  totalSteps: number;
  layer: EditLayer | null;
  frames: number;
  width: number;
  height: number;
  /** The atlas file edited (fitted by this run when `fitted`). */
  atlasFile: string;
  fitted: boolean;
  /** edited.mp4's path, or null with `videoMessage` saying why. */
  video: string | null;
  videoMessage: string | null;
  /** Whether edited.mp4 is missing because ffmpeg failed (not merely absent). */
  videoFailed: boolean;
}

export interface VideoStepEntry {
  step: number;
  losses: LossTerms;
  lr: number;
  wholeAtlasStep: boolean;
  frames: [number, number, number];
  /** Seconds since the run's first step began. */
  seconds: number;
}

/** What log.json holds. */
export interface VideoEditLog {
  clip: { source: string; width: number; height: number; frames: number; frameRate: number; frameIndices: number[] };
  atlas: { file: string; fitted: boolean; iterations: number; backgroundOnly: boolean };
  layer: EditLayer;
  /** Atlas texels per frame pixel, and the layer's raster crop (and the full raster's side R). */
  density: number;
  raster: { width: number; height: number; resolution: number };
  prompts: {
    screen: EditConfig['screenText'];
    composition: EditConfig['compText'];
    source: EditConfig['srcText'];
    bootstrap: string | null;
  };
  preset: string | null;
  /** null when resumed (the session holds the settings). */
  quality: VideoQuality | null;
  seed: number;
  config: EditConfig;
  steps: { done: number; total: number; resumedFrom: number | null; interrupted: boolean };
  /** Per loss term over this run's steps. */
  lossSummary: Record<string, { first: number; last: number; min: number; mean: number }>;
  log: VideoStepEntry[];
  timings: {
    secondsPerStep: number | null;
    trainSeconds: number;
    renderSeconds: number;
    encodeSeconds: number | null;
    atlasFitSeconds: number | null;
  };
  video: {
    file: string | null;
    frameRate: number;
    crf: number;
    audio: EncodeVideoResult['audio'] | null;
    message: string | null;
  };
}

const seconds = (since: number) => (performance.now() - since) / 1000;

/** The atlas file of `--atlas`: the file itself, or atlas.safetensors in the folder. */
export async function atlasFilePath(path: string): Promise<string> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new Error(`Cannot read the atlas ${path}: no such file or folder.`);
  }
  return info.isDirectory() ? join(path, ATLAS_FILE) : path;
}

async function readBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(`Cannot read ${what} ${path}: ${missing ? 'no such file' : (e as Error).message}.`);
  }
}

/** The clip imported again as the atlas recorded it (trim, stride, working size; no masks), checked against it. */
export async function importAsAtlas(
  path: string,
  info: AtlasFileInfo,
  io: Pick<RunIo, 'progress'>,
): Promise<VideoClip> {
  const { geometry: g, frameIndices: fi } = info;
  const clip = await importAtlasClip(
    path,
    {
      start: fi[0],
      frameCount: g.frames,
      stride: fi.length > 1 ? fi[1] - fi[0] : 1,
      bound: { width: g.width, height: g.height },
      masks: null,
    },
    (p) => io.progress(`importing ${p.stage} ${p.done}/${p.total}`),
  );
  const same =
    clip.width === g.width &&
    clip.height === g.height &&
    clip.frames.length === g.frames &&
    clip.frameIndices.every((v, i) => v === fi[i]);
  if (!same) {
    throw new Error(
      `${path} does not match the atlas: it was fitted on ${g.frames} frames (source frames ${fi[0]}…${fi.at(-1)}) ` +
        `at ${g.width}×${g.height}; the clip gives ${clip.frames.length} frames (${clip.frameIndices[0]}…` +
        `${clip.frameIndices.at(-1)}) at ${clip.width}×${clip.height}. Pass the clip the atlas was made from.`,
    );
  }
  return clip;
}

function summarise(log: readonly VideoStepEntry[]): VideoEditLog['lossSummary'] {
  const out: VideoEditLog['lossSummary'] = {};
  if (!log.length) return out;
  for (const k of Object.keys(log[0].losses)) {
    const v = log.map((e) => e.losses[k as keyof LossTerms]);
    out[k] = { first: v[0], last: v[v.length - 1], min: Math.min(...v), mean: v.reduce((a, b) => a + b, 0) / v.length };
  }
  return out;
}

export async function runVideoEdit(cmd: VideoEditCommand, io: VideoEditIo): Promise<VideoEditResult> {
  const env = io.env ?? process.env;
  const { settings, preset } = videoEditSettings(cmd);
  if (!cmd.resume) resolveVideoConfig(cmd.quality, withSourceDefault(settings)); // bad settings fail before any work
  const session = cmd.resume ? await readBytes(cmd.resume, 'the session') : null;
  const resumed = session ? readVideoSettings(decodeSafetensors(session).metadata) : null;
  const files = await loadModelFromDirectory(await modelFolder(cmd.modelSource, io), {
    modelId: cmd.modelSource.dir === null ? cmd.modelSource.modelId : undefined,
    precision: cmd.precision,
  });
  const engine = io.engine ?? (await nodeEngine());
  try {
    // The decomposition: given, or fitted first.
    let atlasFile: string;
    let atlasFitSeconds: number | null = null;
    if (cmd.atlas) {
      atlasFile = await atlasFilePath(cmd.atlas);
    } else {
      const fit = cmd.fit!;
      io.log(`no --atlas: decomposing ${cmd.clip} first, into ${fit.out}`);
      const f0 = performance.now();
      const r = await runAtlas(fit, { log: io.log, progress: io.progress, signal: io.signal, engine });
      atlasFitSeconds = seconds(f0);
      atlasFile = join(fit.out, ATLAS_FILE);
      if (r.interrupted) {
        return {
          outDir: cmd.out,
          stage: 'atlas',
          interrupted: true,
          stepsDone: 0,
          totalSteps: 0,
          layer: null,
          frames: r.frames,
          width: r.width,
          height: r.height,
          atlasFile,
          fitted: true,
          video: null,
          videoMessage: null,
          videoFailed: false,
        };
      }
    }
    const atlasBytes = await readBytes(atlasFile, 'the atlas');
    const info = readAtlasInfo(atlasBytes);
    const hasForeground = !info.config.backgroundOnly;
    const layer = resumed?.layer ?? cmd.layer ?? defaultLayer(settings, preset, hasForeground);
    if (layer === 'foreground' && !hasForeground) {
      throw new LayerDataError(`${atlasFile} is a background-only decomposition: edit the background (--layer bg).`);
    }
    const density = resumed?.density ?? VIDEO_QUALITY[cmd.quality].density;
    const clip = await importAsAtlas(cmd.clip, info, io);
    const g = info.geometry;

    if (cmd.atlas) {
      const s = engine.ctx.summary; // (the fit has said it otherwise)
      io.log(
        `adapter: ${s.vendor} ${s.architecture}${s.isFallbackAdapter ? ' (software fallback: expect it to be slow)' : ''}`,
      );
    }
    const clipModel = await createClipModel(engine, files);
    const { model } = await loadAtlas(engine, atlasBytes);
    let job: VideoEditJob | null = null;
    try {
      const data = await layerData(model, g, clip.frames, layer, density);
      const base = { engine, vision: clipModel.vision, text: clipModel.text, data };
      job = session
        ? await VideoEditJob.restore({ ...base, session })
        : await VideoEditJob.create({ ...base, config: resolveVideoConfig(cmd.quality, withSourceDefault(settings)) });
      const resumedFrom = session ? job.stepsDone : null;
      io.log(
        `editing the ${layer} of ${clip.sourceName} (${g.frames} frames at ${g.width}×${g.height}; atlas raster ` +
          `${data.raster.width}×${data.raster.height} at ${density} texel/px) for ${job.totalSteps} steps` +
          `${resumedFrom !== null ? ` from step ${resumedFrom}` : ''}, seed ${job.config.seed}`,
      );
      await mkdir(cmd.out, { recursive: true });

      // Training.
      const log: VideoStepEntry[] = [];
      const first = job.stepsDone;
      const t0 = performance.now();
      let interrupted = false;
      while (job.stepsDone < job.totalSteps) {
        if (io.signal.aborted) {
          interrupted = true;
          break;
        }
        const r = await job.step();
        const at = seconds(t0);
        log.push({
          step: r.step,
          losses: r.losses,
          lr: r.lr,
          wholeAtlasStep: r.wholeAtlasStep,
          frames: r.frames,
          seconds: at,
        });
        io.progress(progressLine(r, (r.step - first) / at));
      }
      const trainSeconds = seconds(t0);
      await writeAtomic(join(cmd.out, 'session.safetensors'), await job.saveSession());

      const frameRate = cmd.fps ?? info.frameRate;
      const runLog: VideoEditLog = {
        clip: {
          source: clip.sourceName,
          width: g.width,
          height: g.height,
          frames: g.frames,
          frameRate: info.frameRate,
          frameIndices: info.frameIndices,
        },
        atlas: { file: atlasFile, fitted: !cmd.atlas, iterations: info.iterations, backgroundOnly: !hasForeground },
        layer,
        density,
        raster: { width: data.raster.width, height: data.raster.height, resolution: data.raster.resolution },
        prompts: {
          screen: job.config.screenText,
          composition: job.config.compText,
          source: job.config.srcText,
          bootstrap: job.config.bootstrapText,
        },
        preset: preset?.id ?? null,
        quality: session ? null : cmd.quality,
        seed: job.config.seed,
        config: job.config,
        steps: { done: job.stepsDone, total: job.totalSteps, resumedFrom, interrupted },
        lossSummary: summarise(log),
        log,
        timings: {
          secondsPerStep: log.length ? trainSeconds / log.length : null,
          trainSeconds,
          renderSeconds: 0,
          encodeSeconds: null,
          atlasFitSeconds,
        },
        video: { file: null, frameRate, crf: cmd.crf, audio: null, message: null },
      };
      const writeLog = () => writeAtomic(join(cmd.out, 'log.json'), JSON.stringify(runLog, null, 2));
      await writeLog();

      // Rendering: the edited atlas, then every frame (into the encoder as it goes, when there is ffmpeg).
      const r0 = performance.now();
      await writePngAtomic(join(cmd.out, 'atlas-edit.png'), await job.renderAtlas());
      let renderSeconds = seconds(r0);
      await mkdir(join(cmd.out, 'frames'), { recursive: true });
      await mkdir(join(cmd.out, 'layer'), { recursive: true });
      const activeJob = job;
      let rendered = 0;
      const renderOne = async (t: number): Promise<RgbaImage> => {
        const f0 = performance.now();
        const r = await activeJob.renderFrame(t, clip.frames[t]);
        const stem = frameStem(info.frameIndices[t]);
        await writePngAtomic(join(cmd.out, 'frames', `${stem}.png`), r.composite);
        await writePngAtomic(join(cmd.out, 'layer', `${stem}.png`), r.layer);
        renderSeconds += seconds(f0);
        rendered = t + 1;
        io.progress(`rendering frame ${t + 1}/${g.frames}`);
        return r.composite;
      };
      const videoPath = join(cmd.out, 'edited.mp4');
      let video: string | null = null;
      let videoMessage: string | null = null;
      let videoFailed = false;
      if (!findOnPath('ffmpeg', env)) {
        videoMessage = `ffmpeg is not on PATH: wrote the frames only (frames/, layer/), no edited.mp4. Install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg) and run again with --resume ${join(cmd.out, 'session.safetensors')} for the video.`;
      } else {
        const e0 = performance.now();
        const before = renderSeconds;
        const isFile = (await stat(cmd.clip)).isFile();
        // The clip's audio for the span of the kept frames, unless the video is retimed.
        const audio =
          isFile && frameRate === clip.frameRate
            ? {
                source: cmd.clip,
                start: clip.frameIndices[0] / clip.sourceFrameRate,
                duration: g.frames / clip.frameRate,
              }
            : null;
        try {
          const r = await encodeVideo({
            out: videoPath,
            width: g.width,
            height: g.height,
            frameCount: g.frames,
            frameRate,
            crf: cmd.crf,
            audio,
            env,
            frame: renderOne,
          });
          video = videoPath;
          runLog.video.audio = r.audio;
          if (r.width !== g.width || r.height !== g.height) {
            videoMessage = `edited.mp4 is ${r.width}×${r.height} (H.264 needs even sides; the frames are ${g.width}×${g.height})`;
          }
        } catch (e) {
          if (!(e instanceof VideoEncodeError)) throw e;
          videoFailed = true;
          videoMessage = `edited.mp4 was not written: ${e.message}`;
        }
        runLog.timings.encodeSeconds = seconds(e0) - (renderSeconds - before);
      }
      for (let t = rendered; t < g.frames; t++) await renderOne(t); // without ffmpeg, or after it failed
      if (videoMessage) io.log(videoMessage);
      runLog.timings.renderSeconds = renderSeconds;
      runLog.video.file = video ? 'edited.mp4' : null;
      runLog.video.message = videoMessage;
      await writeLog();
      return {
        outDir: cmd.out,
        stage: 'edit',
        interrupted,
        stepsDone: job.stepsDone,
        totalSteps: job.totalSteps,
        layer,
        frames: g.frames,
        width: g.width,
        height: g.height,
        atlasFile,
        fitted: !cmd.atlas,
        video,
        videoMessage,
        videoFailed,
      };
    } finally {
      job?.dispose();
      model.dispose();
      clipModel.vision.dispose();
      await clipModel.text.dispose();
    }
  } finally {
    if (!io.engine) engine.destroy();
  }
}
