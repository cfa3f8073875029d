/**
 * The worker's run state: one explicit state machine for everything the worker does with an edit. Every change of
 * state goes through `RunStateMachine.to`, which checks it against `RUN_TRANSITIONS` and is the one place that
 * tells the page (a `state` event). A transition that is not in the table is a bug in the worker, never a user
 * error: it throws.
 *
 * - idle: no edit (nothing trained or opened yet, or the last one could not be kept).
 * - loadingModel: downloading / parsing CLIP; the edit the user had (if any) is untouched.
 * - preparing: setting up a run or opening a session (device, prompts, generator, first preview, kernels).
 * - training: steps run.
 * - importing: a clip is being decoded (it replaces the clip the user had only when it succeeds).
 * - decomposing: a clip's layered-atlas fit runs (its setup, the flows, is `preparing`).
 * - pausing / stopping: the user asked; the current GPU operation finishes first (it cannot be interrupted).
 * - paused: a run waits between steps; its edit can be downloaded.
 * - stopped: an edit exists and no run goes on (it can be continued, downloaded, or replaced).
 * - done: an edit that took all its steps.
 * - recovering: the device was lost or ran out of memory; a new one is being opened and the edit brought back.
 * - failed: no device could be opened or the lost one replaced; a new start may work (the page keeps what it has).
 */
export const RUN_STATES = [
  'idle',
  'loadingModel',
  'preparing',
  'training',
  'importing',
  'decomposing',
  'pausing',
  'paused',
  'stopping',
  'stopped',
  'done',
  'recovering',
  'failed',
] as const;

export type RunState = (typeof RUN_STATES)[number];

/** Where each state may go. */
export const RUN_TRANSITIONS: Readonly<Record<RunState, readonly RunState[]>> = {
  // Load a model (alone, or for a run), start with the model in memory, open a session.
  idle: ['loadingModel', 'preparing', 'importing'],
  // The load ended (done, failed or cancelled: back to what was there), or goes on to the run it was for; a pause
  // or stop asked for during the download.
  loadingModel: ['idle', 'stopped', 'done', 'preparing', 'pausing', 'stopping'],
  // The run starts; a pause or a stop came during setup; a session opened (stopped / done); setup failed with no
  // edit to go back to (idle) or the device cannot be opened (failed); the edit from before is being brought back
  // after a failure (recovering).
  preparing: ['training', 'decomposing', 'pausing', 'stopping', 'stopped', 'done', 'idle', 'recovering', 'failed'],
  // A step failed for another reason than the device (stopped, the error reported).
  training: ['pausing', 'stopping', 'stopped', 'done', 'recovering'],
  // Back to what was there (the import failed or was stopped), or a new clip (not decomposed yet: idle).
  importing: ['idle', 'stopped', 'done', 'stopping'],
  decomposing: ['pausing', 'stopping', 'stopped', 'done', 'recovering'],
  // Paused (at the next safe point), resumed before that (back to the phase it was in), stopped meanwhile; the
  // download or setup failed meanwhile (back to what was there).
  pausing: [
    'paused',
    'loadingModel',
    'preparing',
    'training',
    'decomposing',
    'stopping',
    'idle',
    'stopped',
    'done',
    'recovering',
  ],
  paused: ['training', 'decomposing', 'stopping', 'recovering'],
  // Stopped with the edit (stopped / done), or a run stopped during its setup left none (idle); the edit from
  // before is being brought back (recovering).
  stopping: ['stopped', 'done', 'idle', 'recovering'],
  // Continue, start over, open a session, load another model; a loss or out-of-memory while idle.
  stopped: ['training', 'decomposing', 'preparing', 'loadingModel', 'importing', 'recovering'],
  done: ['preparing', 'loadingModel', 'importing', 'recovering'],
  // Back to the state the edit was in (a run continues from its checkpoint) or what the user asked for meanwhile;
  // nothing could be kept (idle); no device could be opened (failed).
  recovering: ['training', 'decomposing', 'pausing', 'stopping', 'stopped', 'done', 'idle', 'failed'],
  // Try again: a new run, a session, a model.
  failed: ['loadingModel', 'preparing'],
};

/** States in which a run (its loop) is going on. */
export const RUN_ACTIVE: ReadonlySet<RunState> = new Set([
  'preparing',
  'training',
  'importing',
  'decomposing',
  'pausing',
  'paused',
  'stopping',
]);

/** What the page is told on every change. */
export interface RunStateEvent {
  type: 'state';
  state: RunState;
  /** The state it came from. */
  from: RunState;
  /** Steps the edit has taken, and its total (0 / 0 without an edit). */
  step: number;
  totalSteps: number;
}

export class RunTransitionError extends Error {
  constructor(
    readonly from: RunState,
    readonly to: RunState,
  ) {
    super(`The worker tried to go from "${from}" to "${to}", which is not a run-state transition.`);
    this.name = 'RunTransitionError';
  }
}

export function canTransition(from: RunState, to: RunState): boolean {
  return RUN_TRANSITIONS[from].includes(to);
}

export class RunStateMachine {
  private current: RunState = 'idle';

  constructor(
    private readonly emit: (event: RunStateEvent) => void,
    /** Steps taken / total of the current edit, read at each transition. */
    private readonly progress: () => { step: number; totalSteps: number } = () => ({ step: 0, totalSteps: 0 }),
  ) {}

  get state(): RunState {
    return this.current;
  }

  is(...states: RunState[]): boolean {
    return states.includes(this.current);
  }

  /** Moves to `next` and tells the page; staying in the same state is a no-op. */
  to(next: RunState): void {
    if (next === this.current) return;
    if (!canTransition(this.current, next)) throw new RunTransitionError(this.current, next);
    const from = this.current;
    this.current = next;
    this.emit({ type: 'state', state: next, from, ...this.progress() });
  }
}
