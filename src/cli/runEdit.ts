/** Runs a headless edit: reads the image and the model, trains, writes renders, snapshots, log and session. */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClipModel } from '../clip/clipModel';
import { loadModelFromDirectory } from '../clip/modelDirectory';
import type { Engine } from '../gpu/engine';
import { nodeEngine } from '../gpu/node';
import { DEFAULT_EDIT_CONFIG, REFERENCE_KEYS, validateConfig, type EditConfig } from '../edit/config';
import { readImageFile, encodePng } from '../edit/imageIO.node.js';
import { EditJob } from '../edit/job';
import type { EditRenders, StepReport } from '../edit/jobTypes';
import { applyQuality } from '../edit/quality';
import type { EditCommand } from './editCommand';
import { formatDuration } from './formatDuration';
import { modelFolder } from './modelFolder';

export interface RunIo {
  /** A line of normal output. */
  log(line: string): void;
  /** The progress line (overwritten in place on a terminal). */
  progress(line: string): void;
  /** Aborted by Ctrl-C: the run stops after the current step and saves. */
  signal: AbortSignal;
  /** Use this engine instead of creating one (tests). */
  engine?: Engine;
  /** Progress goes to a terminal (lines overwrite each other): model download lines may come often. */
  interactive?: boolean;
}

export interface RunResult {
  outDir: string;
  stepsDone: number;
  totalSteps: number;
  interrupted: boolean;
}

/** Writes a file atomically (a temporary file, then a rename), so an interrupted run never leaves half a file. */
async function writeAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = `${path}.partial`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

export { formatDuration };

export function progressLine(r: Pick<StepReport, 'step' | 'totalSteps' | 'losses'>, stepsPerSecond: number): string {
  const width = 24;
  const filled = Math.round((width * r.step) / r.totalSteps);
  const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
  const eta = stepsPerSecond > 0 ? (r.totalSteps - r.step) / stepsPerSecond : Infinity;
  return `${bar} step ${r.step}/${r.totalSteps}  ${stepsPerSecond.toFixed(2)} steps/s  ETA ${formatDuration(eta)}  loss ${r.losses.total.toFixed(4)}`;
}

export async function buildConfig(cmd: EditCommand): Promise<EditConfig> {
  let overrides: Record<string, unknown> = {};
  if (cmd.configFile) {
    let text: string;
    try {
      text = await readFile(cmd.configFile, 'utf8');
    } catch (e) {
      throw new Error(`Cannot read the config file ${cmd.configFile}: ${(e as Error).message}`);
    }
    try {
      overrides = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`The config file ${cmd.configFile} is not valid JSON: ${(e as Error).message}`);
    }
  }
  // The reference's snake_case keys are accepted: rename them so they override the quality level's values.
  const snakeToCamel = new Map(Object.entries(REFERENCE_KEYS).map(([camel, snake]) => [snake as string, camel]));
  const renamed = Object.fromEntries(Object.entries(overrides).map(([k, v]) => [snakeToCamel.get(k) ?? k, v]));
  const base = applyQuality(DEFAULT_EDIT_CONFIG, cmd.quality);
  const merged = validateConfig({ ...base, ...renamed });
  const nEpochs = cmd.steps ?? merged.nEpochs;
  return validateConfig({
    ...merged,
    nEpochs,
    screenText: cmd.prompt,
    compText: cmd.fullPrompt,
    srcText: cmd.inputPrompt,
    ...(cmd.roi ? { bootstrapText: cmd.roi, bootstrapEpoch: nEpochs } : {}),
    ...(cmd.seed !== null ? { seed: cmd.seed } : {}),
  });
}

async function writeRenders(dir: string, renders: EditRenders, prefix = ''): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [kind, img] of Object.entries(renders)) {
    await writeAtomic(join(dir, `${prefix}${kind}.png`), await encodePng(img));
  }
}

export async function runEdit(cmd: EditCommand, io: RunIo): Promise<RunResult> {
  const image = await readImageFile(cmd.image);
  const config = await buildConfig(cmd);
  const files = await loadModelFromDirectory(await modelFolder(cmd.modelSource, io), {
    modelId: cmd.modelSource.dir === null ? cmd.modelSource.modelId : undefined,
    precision: cmd.precision,
  });
  const engine = io.engine ?? (await nodeEngine());
  const clip = await createClipModel(engine, files);
  const s = engine.ctx.summary;
  io.log(
    `adapter: ${s.vendor} ${s.architecture}${s.isFallbackAdapter ? ' (software fallback: expect it to be slow)' : ''}`,
  );
  const job = await EditJob.create({ engine, vision: clip.vision, text: clip.text, image, config });
  const { width, height } = job.workingSize;
  io.log(
    `editing ${cmd.image} (${image.width}×${image.height}, working size ${width}×${height}) for ${job.totalSteps} steps, seed ${job.config.seed}`,
  );
  await mkdir(join(cmd.out, 'snapshots'), { recursive: true });
  await writeAtomic(join(cmd.out, 'config.json'), JSON.stringify(job.config, null, 2));

  const log: Array<StepReport & { seconds: number }> = [];
  const saveSession = async () => writeAtomic(join(cmd.out, 'session.safetensors'), await job.saveSession());
  const freq = job.config.logImagesFreq;
  const checkpointEvery = cmd.checkpointEvery ?? freq;
  const t0 = performance.now();
  let interrupted = false;
  try {
    while (job.stepsDone < job.totalSteps) {
      if (io.signal.aborted) {
        interrupted = true;
        break;
      }
      const report = await job.step();
      const seconds = (performance.now() - t0) / 1000;
      log.push({ ...report, seconds });
      io.progress(progressLine(report, report.step / seconds));
      if (report.step % freq === 0 || report.step === job.totalSteps) {
        await writeRenders(
          join(cmd.out, 'snapshots'),
          await job.render(),
          `step-${String(report.step).padStart(5, '0')}-`,
        );
      }
      if (report.step % checkpointEvery === 0) await saveSession();
      await writeAtomic(join(cmd.out, 'log.json'), JSON.stringify(log));
    }
    if (!interrupted) {
      await writeRenders(cmd.out, await job.render({ fullResolution: true }));
    }
    await saveSession();
    await writeAtomic(join(cmd.out, 'log.json'), JSON.stringify(log));
  } finally {
    job.dispose();
    clip.vision.dispose();
    await clip.text.dispose();
    if (!io.engine) engine.destroy();
  }
  return { outDir: cmd.out, stepsDone: job.stepsDone, totalSteps: job.totalSteps, interrupted };
}
