/**
 * The training loop of a run: one `job.step()` at a time, with the user's pause and stop requests honoured between
 * steps, the device's loss handled by the host (a new device, the job restored from its checkpoint), and the
 * cadences of the things around the steps:
 *
 * - previews at most every 0.5 s and never more than a fifth of the training time, so a fast GPU is not slowed by
 *   read-backs and a slow one still shows progress;
 * - checkpoints (the session, kept in memory) every 50 steps or 60 s, whichever comes first, and whenever the run
 *   pauses or ends: what a lost device or an out-of-memory error falls back to;
 * - the measured step times (`StepTimer`) for the speed, the time left and the page's estimates.
 */
import type { StepReport } from '../edit/jobTypes';
import type { RunState, RunStateMachine } from './runState';
import { StepTimer, type StepTimingSummary } from './stepTiming';
import type { TrainableJob } from './workerTypes';

const PREVIEW_INTERVAL_MS = 500;
const PREVIEW_TIME_SHARE = 0.2;
const CHECKPOINT_STEPS = 50;
const CHECKPOINT_SECONDS = 60;

/** The user's requests that take effect at the next point where the run can stop safely. */
export class RunRequests {
  pause = false;
  stop = false;
  private waiters: Array<() => void> = [];

  reset(): void {
    this.pause = false;
    this.stop = false;
  }

  /** Resolves at the next `wake()` (a resume, a stop, a lost device). */
  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

export interface TrainerHost {
  readonly machine: RunStateMachine;
  readonly requests: RunRequests;
  job(): TrainableJob | null;
  /** GPU work of the job, one operation at a time, rejecting when the device is lost. */
  gpu<T>(fn: () => Promise<T>): Promise<T>;
  /** The device was lost (the host replaces it in `recover`). */
  deviceLost(): boolean;
  /** Whether an error means the device is gone (the host then marks it lost). */
  isDeviceFailure(e: unknown): Promise<boolean>;
  /** A new device with the job restored from its last checkpoint; false when that is impossible (run fails). */
  recover(): Promise<boolean>;
  /** Saves the session in memory unless the last checkpoint is of this very step. */
  checkpoint(): Promise<void>;
  /** The step the last checkpoint holds, and when it was taken (ms, performance.now()). */
  checkpointAge(): { step: number; at: number } | null;
  /** Renders and sends a preview. */
  preview(): Promise<void>;
  progress(event: {
    report: StepReport;
    stepsPerSecond: number;
    etaSeconds: number | null;
    elapsedSeconds: number;
    timing: StepTimingSummary;
  }): void;
  /** A step failed for another reason than a lost device: the host reports it (and handles out of memory). */
  stepFailed(e: unknown): Promise<void>;
  /** Checkpoint every this many steps (fewer for the tiny test level); undefined: the default 50. */
  checkpointSteps(): number | undefined;
}

export type RunOutcome = 'done' | 'stopped' | 'failed' | 'step-failed';

export class Trainer {
  readonly timer = new StepTimer();
  private running = false;
  private elapsedBefore = 0;
  private runStartedAt = 0;
  private lastPreviewAt = 0;
  private lastPreviewMs = 0;
  private trainMsSincePreview = 0;

  constructor(private readonly host: TrainerHost) {}

  get isRunning(): boolean {
    return this.running;
  }

  /** A new edit: its elapsed time starts at zero. */
  newEdit(): void {
    this.elapsedBefore = 0;
  }

  /** A preview just went out (the host renders some outside the loop too). */
  notePreview(ms: number): void {
    this.lastPreviewMs = ms;
    this.lastPreviewAt = performance.now();
    this.trainMsSincePreview = 0;
  }

  /**
   * Runs the job's steps until it is done, stopped, or fails. The machine is in `training` or `pausing` when this
   * starts; the loop moves it to `paused`, `recovering`, `stopping`, and at the end to `done` or `stopped` (or
   * `failed` when the device cannot be replaced).
   */
  async run(): Promise<RunOutcome> {
    const { host } = this;
    if (this.running) throw new Error('The training loop is already running.');
    this.running = true;
    this.timer.reset();
    this.runStartedAt = performance.now();
    this.lastPreviewAt = 0;
    this.trainMsSincePreview = 0;
    let outcome: RunOutcome = 'done';
    try {
      for (;;) {
        const job = host.job();
        if (!job || job.stepsDone >= job.totalSteps) break;
        if (host.deviceLost()) {
          host.machine.to('recovering');
          if (!(await host.recover())) {
            host.machine.to('failed');
            return (outcome = 'failed');
          }
          this.timer.reset(); // the new device compiles its kernels again
          host.machine.to(this.requestedState());
          continue;
        }
        if (host.requests.stop) {
          outcome = 'stopped';
          break;
        }
        try {
          if (host.requests.pause) await this.pauseHere(job);
          else await this.oneStep(job);
        } catch (e) {
          // A destroyed device fails pending reads (mapAsync AbortError) before `device.lost` resolves.
          if (await host.isDeviceFailure(e)) continue;
          await host.stepFailed(e);
          return (outcome = 'step-failed');
        }
      }
      await this.finish(outcome);
      return outcome;
    } finally {
      this.elapsedBefore += (performance.now() - this.runStartedAt) / 1000;
      this.running = false;
    }
  }

  /** The state a run is in after something it waited for: what the user asked for meanwhile, else training. */
  private requestedState(): RunState {
    const r = this.host.requests;
    return r.stop ? 'stopping' : r.pause ? 'pausing' : 'training';
  }

  private async finish(outcome: 'done' | 'stopped'): Promise<void> {
    const { host } = this;
    const job = host.job();
    if (!job) return;
    try {
      await host.gpu(async () => {
        await host.preview();
        await host.checkpoint();
      });
    } catch (e) {
      // The edit is what it was at its last step either way; a lost device is recovered when it is next used.
      if (!(await host.isDeviceFailure(e))) await host.stepFailed(e);
    }
    host.machine.to(job.stepsDone >= job.totalSteps ? 'done' : outcome === 'done' ? 'done' : 'stopped');
  }

  private async pauseHere(job: TrainableJob): Promise<void> {
    const { host } = this;
    try {
      await host.gpu(async () => {
        await host.preview();
        await host.checkpoint();
      });
    } catch (e) {
      if (!(await host.isDeviceFailure(e))) throw e;
      return; // the loop recovers first, then pauses
    }
    host.machine.to('paused');
    const pausedAt = performance.now();
    while (host.requests.pause && !host.requests.stop && !host.deviceLost()) await host.requests.wait();
    this.runStartedAt += performance.now() - pausedAt; // paused time is not training time
    if (host.requests.stop) host.machine.to('stopping');
    else if (!host.deviceLost() && job.stepsDone < job.totalSteps) host.machine.to('training');
  }

  private async oneStep(job: TrainableJob): Promise<void> {
    const { host } = this;
    const t0 = performance.now();
    const report = await host.gpu(() => job.step());
    const ms = performance.now() - t0;
    this.trainMsSincePreview += ms;
    this.timer.record(ms / 1000, report.fullImageStep);
    const every = job.config.sourceImageEvery;
    host.progress({
      report,
      stepsPerSecond: this.timer.stepsPerSecond(every),
      etaSeconds: this.timer.secondsLeft(job.stepsDone, job.totalSteps, every),
      elapsedSeconds: this.elapsedBefore + (performance.now() - this.runStartedAt) / 1000,
      timing: this.timer.summary,
    });
    const now = performance.now();
    const cp = host.checkpointAge();
    const cpEvery = host.checkpointSteps() ?? CHECKPOINT_STEPS;
    if (!cp || job.stepsDone - cp.step >= cpEvery || (now - cp.at) / 1000 >= CHECKPOINT_SECONDS) {
      await host.gpu(() => host.checkpoint());
    }
    const previewDue =
      now - this.lastPreviewAt >= PREVIEW_INTERVAL_MS &&
      this.lastPreviewMs <= PREVIEW_TIME_SHARE * (this.trainMsSincePreview + 1);
    if (previewDue && job.stepsDone < job.totalSteps && !host.requests.pause && !host.requests.stop) {
      await host.gpu(() => host.preview());
    }
  }
}
