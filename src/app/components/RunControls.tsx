/** Start / Pause / Resume / Stop, the progress bar with speed and time left, and the live loss chart. */
import { useId } from 'react';
import { formatBytes } from '../../gpu/formatBytes';
import type { RunState } from '../../worker/runState';
import { runBusy, useApp } from '../store';
import { RUN_STATE_LABEL } from './runStateLabel';
import { formatDuration } from './format';
import { LossChart } from './LossChart';

/** States in which Pause / Stop act (a pause during setup takes effect before the first step). */
const PAUSABLE: ReadonlySet<RunState> = new Set(['loadingModel', 'preparing', 'training']);
const STOPPABLE: ReadonlySet<RunState> = new Set(['loadingModel', 'preparing', 'training', 'pausing', 'paused']);

export function RunControls() {
  const run = useApp((s) => s.run);
  const busy = useApp(runBusy);
  const hasInput = useApp((s) => s.input !== null);
  const hasPrompt = useApp((s) => s.prompts.edit.trim() !== '');
  const start = useApp((s) => s.start);
  const pause = useApp((s) => s.pause);
  const resume = useApp((s) => s.resume);
  const stop = useApp((s) => s.stop);
  const debug = useApp((s) => s.url.debug);
  const simulateDeviceLoss = useApp((s) => s.simulateDeviceLoss);

  const state = run.state;
  const label = run.requested ? 'Preparing' : RUN_STATE_LABEL[state];
  const canContinue = state === 'stopped' && run.step < run.totalSteps && !run.requested;
  const percent = run.totalSteps > 0 ? (100 * run.step) / run.totalSteps : 0;
  const missing = !hasInput ? 'Add a photo to start.' : !hasPrompt ? 'Describe the edit layer to start.' : null;

  return (
    <section className="card run" aria-labelledby="run-heading">
      <h2>
        <span id="run-heading">Training</span>{' '}
        <span className={`badge state-${state}`} data-testid="run-state" data-state={state}>
          {label}
        </span>
      </h2>
      <div className="actions" role="group" aria-label="Training controls">
        <button
          type="button"
          className="primary"
          onClick={() => void start()}
          disabled={busy || missing !== null}
          aria-describedby={missing ? 'start-missing' : undefined}
        >
          {state === 'idle' || state === 'failed' ? 'Start' : 'Start over'}
        </button>
        {state === 'paused' || state === 'pausing' ? (
          <button type="button" onClick={resume}>
            Resume
          </button>
        ) : canContinue ? (
          <button type="button" onClick={resume}>
            Continue training
          </button>
        ) : (
          <button type="button" onClick={pause} disabled={!PAUSABLE.has(state) || run.requested !== null}>
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
        <p className="muted small" id="start-missing">
          {missing}
        </p>
      )}
      <div className="progress">
        <progress
          max={100}
          value={run.totalSteps > 0 || !busy ? percent : undefined}
          aria-label="Training progress"
          aria-valuetext={run.totalSteps > 0 ? `Step ${run.step} of ${run.totalSteps}` : 'Not started'}
        />
        <p className="small stats" aria-live="off" data-testid="progress-text">
          {run.totalSteps > 0 ? (
            <>
              Step <strong data-testid="step">{run.step}</strong> of {run.totalSteps}
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
        {run.workingSize && (
          <p className="small muted">
            Working size {run.workingSize.width}×{run.workingSize.height} px
            {run.seed !== null ? `, seed ${run.seed}` : ''}.
          </p>
        )}
        <p className="small activity" role="status" data-testid="activity">
          {run.activity ?? ''}
        </p>
      </div>
      <LossChart />
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
