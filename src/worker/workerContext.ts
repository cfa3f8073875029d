/**
 * What the controller's parts share: the edit the worker holds (`CurrentEdit`), the GPU queue, and a context object
 * with the machine, the device, the models, the jobs and the ways to tell the page. The controller builds it; the
 * recovery (`recovery.ts`) and the training loop work through it.
 */
import type { Engine } from '../gpu/engine';
import type { BusyPhase, EditCommand, ErrorKind } from './protocol';
import type { DeviceLike } from './editController';
import type { ExportInput } from './exporter';
import type { LoadedModel, ModelLoaderLike } from './modelLoader';
import type { RunState, RunStateMachine } from './runState';
import type { RunRequests } from './trainer';
import type { JobFactory, TrainableJob, WorkerPlatform } from './workerTypes';

export interface Checkpoint {
  bytes: Uint8Array;
  step: number;
  at: number;
}

/** An edit that can be brought back: its checkpoint and its photo. */
export interface KeptEdit {
  checkpoint: Checkpoint;
  input: ExportInput;
  /** It is the edit from before the failed command (the page restores its own record of it). */
  previous: boolean;
}

/** The edit the worker holds: the job, its photo, its last checkpoint, and the edit from before a run. */
export class CurrentEdit {
  job: TrainableJob | null = null;
  input: ExportInput | null = null;
  checkpoint: Checkpoint | null = null;
  /** The edit before the current run, until that run has a checkpoint of its own past step 0. */
  fallback: Omit<KeptEdit, 'previous'> | null = null;

  disposeJob(): void {
    try {
      this.job?.dispose();
    } catch {
      // A job of a lost device has nothing left to free.
    }
    this.job = null;
  }

  /** The state an edit that exists and is not running is in. */
  restingState(): RunState {
    if (!this.job) return 'idle';
    return this.job.stepsDone >= this.job.totalSteps ? 'done' : 'stopped';
  }

  /** Keeps the session in memory unless the last checkpoint is of this very step. */
  async saveCheckpoint(): Promise<void> {
    const job = this.job;
    if (!job) return;
    if (this.checkpoint && this.checkpoint.step === job.stepsDone) return;
    const bytes = await job.saveSession();
    this.checkpoint = { bytes, step: job.stepsDone, at: performance.now() };
    if (job.stepsDone > 0) this.fallback = null;
  }

  /** The edit to bring back after `command` failed: its own progress if it made any, else the edit from before it. */
  toKeep(command: EditCommand['type']): KeptEdit | null {
    const current = this.checkpoint && this.input ? { checkpoint: this.checkpoint, input: this.input } : null;
    // A failed session leaves the edit that was open; a failed download, the edit it was for.
    if (command === 'openSession') return current && { ...current, previous: true };
    if (command === 'export') return current && { ...current, previous: false };
    if (current && current.checkpoint.step > 0) return { ...current, previous: false };
    return this.fallback && { ...this.fallback, previous: true };
  }
}

/** One GPU operation at a time (steps, renders, checkpoints, restores never interleave on the engine). */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

export interface FailOptions {
  recoverable?: boolean;
  hint?: string;
  command?: EditCommand['type'];
}

export interface WorkerContext {
  readonly machine: RunStateMachine;
  readonly device: DeviceLike;
  readonly models: ModelLoaderLike;
  readonly jobs: JobFactory;
  /** Restores an edit from its session on `engine`: the image job on its photo, a video job on its decomposition. */
  restoreJob(engine: Engine, model: LoadedModel, input: ExportInput, session: Uint8Array): Promise<TrainableJob>;
  readonly edit: CurrentEdit;
  readonly requests: RunRequests;
  readonly platform: WorkerPlatform;
  sleep(ms: number): Promise<void>;
  /** GPU work, one operation at a time. */
  serial<T>(fn: () => Promise<T>): Promise<T>;
  /** GPU work, one operation at a time, rejecting when the device is lost. */
  gpu<T>(fn: () => Promise<T>): Promise<T>;
  post: WorkerPlatform['post'];
  fail(kind: ErrorKind, text: string, opts?: FailOptions): void;
  busy(phase: BusyPhase, text: string): void;
  /** Whether `e` comes from a lost device (then it is marked lost for the loop to recover). */
  isDeviceFailure(e: unknown): Promise<boolean>;
  trainerRunning(): boolean;
  renderPreview(): Promise<void>;
  /** Tells the page about the edit's job (`started`). */
  announceStart(): void;
}

export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));
