/**
 * `npm run soak -- --steps N`: one long edit at the tiny level, run the way the app runs it (full-image steps,
 * previews, checkpoints, the odd full-resolution download), measured every few steps for leaks: the buffer pool's
 * live and allocated bytes, the GPU buffers alive on the device, the pipeline cache, and the process's memory
 * (RSS, V8 heap, external and ArrayBuffer bytes). At the end, a verdict per metric from a line fitted through the
 * samples after the warm-up; the exit code is 1 when any of them grows.
 *
 * The setup is the step benchmark's (the vision tower from a model folder, a stand-in text encoder: prompts are
 * embedded once, before training) with the tests' tiny edit (test/tinyEdit.ts), bootstrap on for the whole run.
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { tinyEditConfig } from '../../test/tinyEdit';
import { ClipVisionTower } from '../clip/vision';
import { readImageFile } from '../edit/imageIO.node.js';
import { EditJob } from '../edit/job';
import type { Engine } from '../gpu/engine';
import { formatBytes } from '../gpu/formatBytes';
import { nodeEngine } from '../gpu/node';
import { BenchUsageError } from './benchArgs';
import { adapterLabel } from './benchCommon';
import { countDeviceBuffers, type DeviceBufferCount } from './deviceBufferCounter';
import { parseSoakArgs, SOAK_USAGE, type SoakOptions } from './soakArgs';
import { trendVerdict, type TrendTolerance, type TrendVerdict } from './soakTrend';
import { randomTextEncoder, readVisionWeights } from './stepBench';

export interface SoakSample {
  /** Training steps done when measured (0: the job is created, nothing trained yet). */
  step: number;
  seconds: number;
  poolLiveBytes: number;
  poolAllocatedBytes: number;
  deviceBuffers: number;
  deviceBufferBytes: number;
  pipelines: number;
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
}

type MetricName = Exclude<keyof SoakSample, 'step' | 'seconds'>;

interface MetricSpec {
  label: string;
  unit: 'bytes' | 'count';
  /** Noise allowance over the measured span (see soakTrend.ts). */
  tolerance: TrendTolerance;
}

const MiB = 1024 * 1024;

/**
 * The allowances: the pool's live bytes between steps are the job's persistent tensors and should not move at all;
 * allocated bytes and device buffers follow the random crop sizes (the pool trims per step); the process's memory
 * has allocator and GC noise of a few MiB.
 */
const METRICS: Record<MetricName, MetricSpec> = {
  poolLiveBytes: { label: 'pool live bytes', unit: 'bytes', tolerance: { absolute: 64 * 1024, relative: 0.01 } },
  poolAllocatedBytes: { label: 'pool allocated bytes', unit: 'bytes', tolerance: { absolute: MiB, relative: 0.1 } },
  deviceBuffers: { label: 'device buffers', unit: 'count', tolerance: { absolute: 4, relative: 0.1 } },
  deviceBufferBytes: { label: 'device buffer bytes', unit: 'bytes', tolerance: { absolute: MiB, relative: 0.1 } },
  pipelines: { label: 'pipelines', unit: 'count', tolerance: { absolute: 2, relative: 0 } },
  rssBytes: { label: 'RSS', unit: 'bytes', tolerance: { absolute: 24 * MiB, relative: 0.03 } },
  heapUsedBytes: { label: 'V8 heap used', unit: 'bytes', tolerance: { absolute: 4 * MiB, relative: 0.1 } },
  externalBytes: { label: 'external', unit: 'bytes', tolerance: { absolute: 4 * MiB, relative: 0.1 } },
  arrayBuffersBytes: { label: 'ArrayBuffers', unit: 'bytes', tolerance: { absolute: 4 * MiB, relative: 0.1 } },
};
const METRIC_NAMES = Object.keys(METRICS) as MetricName[];

export interface SoakResult {
  adapter: string;
  options: SoakOptions;
  image: string;
  working: { width: number; height: number };
  wallSeconds: number;
  /** Mean wall time per step, previews, checkpoints and downloads included. */
  secondsPerStep: number;
  samples: SoakSample[];
  verdicts: Record<MetricName, TrendVerdict>;
}

function signedBytes(b: number): string {
  return `${b < 0 ? '−' : '+'}${formatBytes(Math.abs(b))}`;
}

function formatValue(spec: MetricSpec, v: number): string {
  return spec.unit === 'bytes' ? formatBytes(v) : String(Math.round(v));
}

function formatChange(spec: MetricSpec, v: number): string {
  return spec.unit === 'bytes' ? signedBytes(v) : `${v < 0 ? '−' : '+'}${Math.abs(v).toFixed(2)}`;
}

/** Measures everything at rest: the GPU's work done, and a full garbage collection when node runs with --expose-gc. */
async function measure(engine: Engine, buffers: DeviceBufferCount, step: number, t0: number): Promise<SoakSample> {
  await engine.sync();
  (globalThis as { gc?: () => void }).gc?.();
  const pool = engine.pool.stats();
  const mem = process.memoryUsage();
  return {
    step,
    seconds: (performance.now() - t0) / 1000,
    poolLiveBytes: pool.liveBytes,
    poolAllocatedBytes: pool.allocatedBytes,
    deviceBuffers: buffers.live,
    deviceBufferBytes: buffers.liveBytes,
    pipelines: engine.pipelines.size,
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
    externalBytes: mem.external,
    arrayBuffersBytes: mem.arrayBuffers,
  };
}

function reportLine(s: SoakSample, steps: number): string {
  return (
    `step ${s.step}/${steps}  ${s.seconds.toFixed(0)} s  ` +
    `pool ${formatBytes(s.poolLiveBytes)} live / ${formatBytes(s.poolAllocatedBytes)} allocated  ` +
    `device ${s.deviceBuffers} buffers (${formatBytes(s.deviceBufferBytes)})  pipelines ${s.pipelines}  ` +
    `rss ${formatBytes(s.rssBytes)}  heap ${formatBytes(s.heapUsedBytes)}  ` +
    `external ${formatBytes(s.externalBytes)}  arrayBuffers ${formatBytes(s.arrayBuffersBytes)}`
  );
}

function verdictLine(name: MetricName, v: TrendVerdict): string {
  const spec = METRICS[name];
  return (
    `${spec.label}: ${v.verdict} (${formatValue(spec, v.first)} → ${formatValue(spec, v.last)}, ` +
    `slope ${formatChange(spec, v.slopePer100Steps)} per 100 steps, fitted ${formatChange(spec, v.fittedChange)} ` +
    `over ${v.points} samples, allowed ±${formatValue(spec, v.allowance)})`
  );
}

function verdicts(samples: readonly SoakSample[], warmup: number): Record<MetricName, TrendVerdict> {
  const out = {} as Record<MetricName, TrendVerdict>;
  for (const name of METRIC_NAMES) {
    out[name] = trendVerdict(
      samples.map((s) => ({ step: s.step, value: s[name] })),
      METRICS[name].tolerance,
      warmup,
    );
  }
  return out;
}

/** `every` > 0 and n a multiple of it. */
const due = (n: number, every: number) => every > 0 && n % every === 0;

async function runSoak(opts: SoakOptions, log: (line: string) => void): Promise<SoakResult> {
  const engine = await nodeEngine();
  // Installed before the model loads: every buffer from here on is counted (only the engine's uniform arena is not).
  const buffers = countDeviceBuffers(engine.device);
  const weights = readVisionWeights(opts.model);
  const vision = new ClipVisionTower(engine, weights);
  const image = await readImageFile(opts.image);
  const config = tinyEditConfig({
    nEpochs: opts.steps,
    seed: opts.seed,
    sourceImageEvery: opts.fullImageEvery,
    // The relevancy map (bootstrap target) every step of the run, its weight decaying linearly to the end.
    bootstrapText: 'dog',
    bootstrapEpoch: opts.steps + 1,
  });
  const job = await EditJob.create({
    engine,
    vision,
    text: randomTextEncoder(weights.config.projectionDim),
    image,
    config,
  });
  const adapter = adapterLabel(engine.ctx.summary);
  log(
    `${adapter}; ${basename(opts.image)} ${image.width}×${image.height} at ${job.workingSize.width}×` +
      `${job.workingSize.height}; ${opts.steps} steps, a full-image step every ${opts.fullImageEvery}, ` +
      `preview every ${opts.renderEvery || '—'}, checkpoint every ${opts.checkpointEvery || '—'}, ` +
      `full-resolution render every ${opts.downloadEvery || '—'}`,
  );
  const t0 = performance.now();
  const samples: SoakSample[] = [await measure(engine, buffers, 0, t0)];
  log(reportLine(samples[0], opts.steps));
  // The app keeps its last checkpoint; so does the soak (a leak through it would show in the process memory).
  let checkpoint: Uint8Array | null = null;
  for (let step = 1; step <= opts.steps; step++) {
    await job.step();
    if (due(step, opts.renderEvery)) await job.render();
    if (due(step, opts.checkpointEvery)) checkpoint = await job.saveSession();
    if (due(step, opts.downloadEvery)) await job.render({ fullResolution: true });
    if (due(step, opts.sampleEvery) || due(step, opts.every) || step === opts.steps) {
      const s = await measure(engine, buffers, step, t0);
      samples.push(s);
      if (due(step, opts.every) || step === opts.steps) log(reportLine(s, opts.steps));
    }
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  const result: SoakResult = {
    adapter,
    options: opts,
    image: `${basename(opts.image)}, ${image.width}×${image.height}`,
    working: job.workingSize,
    wallSeconds,
    secondsPerStep: wallSeconds / opts.steps,
    samples,
    verdicts: verdicts(samples, opts.warmup),
  };
  void checkpoint;
  job.dispose();
  vision.dispose();
  buffers.uninstall();
  engine.destroy();
  return result;
}

function stamp(line: string): void {
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
}

async function main(argv: readonly string[]): Promise<number> {
  const opts = parseSoakArgs(argv);
  if (!opts) {
    console.log(SOAK_USAGE);
    return 0;
  }
  if (!(globalThis as { gc?: unknown }).gc) stamp('note: run node with --expose-gc for steadier heap figures');
  const r = await runSoak(opts, stamp);
  console.log(`${opts.steps} steps in ${r.wallSeconds.toFixed(0)} s (${r.secondsPerStep.toFixed(2)} s per step)`);
  console.log(`verdicts over the samples from step ${opts.warmup} on:`);
  for (const name of METRIC_NAMES) console.log(`  ${verdictLine(name, r.verdicts[name])}`);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ command: 'soak', ...r }, null, 2));
  const growing = METRIC_NAMES.filter((n) => r.verdicts[n].verdict === 'growing');
  if (growing.length > 0) console.log(`growing: ${growing.map((n) => METRICS[n].label).join(', ')}`);
  return growing.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof BenchUsageError) console.error(`soak: ${e.message}\n\n${SOAK_USAGE}`);
    else console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
