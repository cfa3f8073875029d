/**
 * Start / Pause / Resume / Stop, the progress bar with speed and time left, and the live loss chart. The photo
 * editor's training panel, and (with its own Start, test ids and heading) the video edit's.
 */
import { useId, type ReactNode } from 'react';
import { formatBytes } from '../../gpu/formatBytes';
import type { RunState } from '../../worker/runState';
import { runBusy, useApp } from '../store';
import { RUN_STATE_LABEL } from './runStateLabel';
import { formatDuration } from './format';
import { LossChart } from './LossChart';

/** States in which Pause / Stop act (a pause during setup takes effect before the first step). */
const PAUSABLE: ReadonlySet<RunState> = new Set(['loadingModel', 'preparing', 'training']);
const STOPPABLE: ReadonlySet<RunState> = new Set(['loadingModel', 'preparing', 'training', 'pausing', 'paused']);

export interface RunControlsProps {
  /** The heading (default “Training”). */
  title?: string;
  /** Start and why it cannot be pressed now; null: no Start button here (the form has it). Default: the photo's. */
  start?: { onStart: () => void; missing: string | null } | null;
  /** Prefix of the test ids (`run-state`, `step`, `progress-text`, `activity`): '' for photos, 'video-' for video. */
  testIdPrefix?: string;
  /** Whether the worker's run is this panel's (false: shown as not started, its buttons off). Default true. */
  active?: boolean;
  /** Shown between the progress and the loss chart (a live preview). */
  children?: ReactNode;
}

export function RunControls(props: RunControlsProps) {
  const run = useApp((s) => s.run);
  const busy = useApp(runBusy);
  const hasInput = useApp((s) => s.input !== null);
  const hasPrompt = useApp((s) => s.prompts.edit.trim() !== '');
  const startPhoto = useApp((s) => s.start);
  const pause = useApp((s) => s.pause);
  const resume = useApp((s) => s.resume);
  const stop = useApp((s) => s.stop);
  const debug = useApp((s) => s.url.debug);
  const simulateDeviceLoss = useApp((s) => s.simulateDeviceLoss);
  const missingId = useId();
  const headingId = useId();
  const tid = (name: string) => `${props.testIdPrefix ?? ''}${name}`;

  const active = props.active ?? true;
  const start =
    props.start === undefined
      ? {
          onStart: () => void startPhoto(),
          missing: !hasInput ? 'Add a photo to start.' : !hasPrompt ? 'Describe the edit layer to start.' : null,
        }
      : props.start;
  const state: RunState = active ? run.state : 'idle';
  const label = active && run.requested ? 'Preparing' : RUN_STATE_LABEL[state];
  const canContinue = state === 'stopped' && run.step < run.totalSteps && !run.requested;
  const totalSteps = active ? run.totalSteps : 0;
  const percent = totalSteps > 0 ? (100 * run.step) / totalSteps : 0;
  const missing = start?.missing ?? null;

  return (
    <section className="card run" aria-labelledby={headingId}>
      <h2>
        <span id={headingId}>{props.title ?? 'Training'}</span>{' '}
        <span className={`badge state-${state}`} data-testid={tid('run-state')} data-state={state}>
          {label}
        </span>
      </h2>
      <div className="actions" role="group" aria-label="Training controls">
        {start && (
          <button
            type="button"
            className="primary"
            onClick={start.onStart}
            disabled={busy || missing !== null}
            aria-describedby={missing ? missingId : undefined}
          >
            {state === 'idle' || state === 'failed' ? 'Start' : 'Start over'}
          </button>
        )}
        {state === 'paused' || state === 'pausing' ? (
          <button type="button" onClick={resume}>
            Resume
          </button>
        ) : canContinue ? (
          <button type="button" onClick={resume}>
            Continue training
          </button>
        ) : (
          <button type="button" onClick={pause} disabled={!PAUSABLE.has(state) || (active && run.requested !== null)}>
            Pause
          </button>
        )}
        <button type="button" onClick={stop} disabled={!STOPPABLE.has(state)}>
          Stop
        </button>
        {debug && (
          <button type="button" className="debug" onClick={simulateDeviceLoss} disabled={!busy}>
            Simulate GPU device loss
          </button>
        )}
      </div>
      {debug && <SimulatedMemory busy={busy} />}
      {missing && (
        <p className="muted small" id={missingId}>
          {missing}
        </p>
      )}
      <div className="progress">
        <progress
          max={100}
          value={totalSteps > 0 || !busy || !active ? percent : undefined}
          aria-label={`${props.title ?? 'Training'} progress`}
          aria-valuetext={totalSteps > 0 ? `Step ${run.step} of ${totalSteps}` : 'Not started'}
        />
        <p className="small stats" aria-live="off" data-testid={tid('progress-text')}>
          {totalSteps > 0 ? (
            <>
              Step <strong data-testid={tid('step')}>{run.step}</strong> of {totalSteps}
              {run.stepsPerSecond > 0 && (
                <>
                  {' · '}
                  {run.stepsPerSecond >= 1
                    ? `${run.stepsPerSecond.toFixed(1)} steps/s`
                    : `${(1 / run.stepsPerSecond).toFixed(1)} s/step`}
                </>
              )}
              {run.etaSeconds !== null && (state === 'training' || state === 'pausing') && (
                <> · about {formatDuration(run.etaSeconds)} left</>
              )}
              {run.elapsedSeconds > 0 && <> · {formatDuration(run.elapsedSeconds)} so far</>}
            </>
          ) : (
            'Not started.'
          )}
        </p>
        {active && run.workingSize && (
          <p className="small muted">
            Working size {run.workingSize.width}×{run.workingSize.height} px
            {run.seed !== null ? `, seed ${run.seed}` : ''}.
          </p>
        )}
        <p className="small activity" role="status" data-testid={tid('activity')}>
          {active ? (run.activity ?? '') : ''}
        </p>
      </div>
      {props.children}
      {active && <LossChart />}
    </section>
  );
}

/**
 * Test hook (`?debug=1`): a GPU memory limit the worker's device enforces, to drive the out-of-memory path. Usable
 * once the model is loaded (the worker then knows it may honour test hooks) and while nothing runs.
 */
function SimulatedMemory({ busy }: { busy: boolean }) {
  const ready = useApp((s) => s.model.state === 'ready');
  const memory = useApp((s) => s.debugMemory);
  const simulate = useApp((s) => s.simulateMemoryLimit);
  const id = useId();
  const MiB = 1 << 20;
  return (
    <div className="debug-hooks field inline-field">
      <label htmlFor={id}>Simulated GPU memory (MiB)</label>
      <input
        id={id}
        type="number"
        min={1}
        step={1}
        placeholder="no limit"
        disabled={busy || !ready}
        onChange={(e) => {
          const mib = Number(e.currentTarget.value);
          simulate(e.currentTarget.value !== '' && mib > 0 ? Math.round(mib * MiB) : null);
        }}
      />
      {memory && (
        <span className="small muted" role="status" data-testid="memory-limit">
          {memory.limitBytes === null ? 'No limit' : `Limit ${formatBytes(memory.limitBytes)}`}; this device uses{' '}
          {formatBytes(memory.usedBytes)} (peak {formatBytes(memory.peakBytes)}).
        </span>
      )}
    </div>
  );
}
