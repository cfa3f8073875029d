/**
 * Decomposing the clip into layered atlases (video part 1): how many iterations and whether there is a moving
 * object at all, Decompose / Pause / Resume / Stop, the progress (iteration, PSNR, time left), and the views as
 * they evolve: the selected frame through the atlases, its alpha, both atlases and the input, with a frame
 * scrubber. The result can be downloaded (atlas.safetensors) to edit later without decomposing again.
 */
import { useEffect, useId, useRef } from 'react';
import { OpenFileButton } from './OpenFileButton';
import type { RunState } from '../../worker/runState';
import { runBusy, useApp, type AtlasViewKind } from '../store';
import { formatDuration } from './format';
import { RUN_STATE_LABEL } from './runStateLabel';

const VIEWS: { kind: AtlasViewKind; label: string }[] = [
  { kind: 'reconstruction', label: 'Reconstruction' },
  { kind: 'alpha', label: 'Alpha' },
  { kind: 'background', label: 'Background atlas' },
  { kind: 'foreground', label: 'Foreground atlas' },
  { kind: 'input', label: 'Input frame' },
];

const PAUSABLE: ReadonlySet<RunState> = new Set(['preparing', 'decomposing']);
const STOPPABLE: ReadonlySet<RunState> = new Set(['importing', 'preparing', 'decomposing', 'pausing', 'paused']);

function AtlasCanvas() {
  const preview = useApp((s) => s.atlasPreview);
  const view = useApp((s) => s.atlasView);
  const ref = useRef<HTMLCanvasElement>(null);
  const bitmap = preview ? preview.images[view] : null;
  useEffect(() => {
    const c = ref.current;
    if (!c || !bitmap) return;
    c.width = bitmap.width;
    c.height = bitmap.height;
    c.getContext('2d')?.drawImage(bitmap, 0, 0);
  }, [bitmap]);
  if (!preview) return <p className="muted small">The views appear once the decomposition starts.</p>;
  if (!bitmap) return <p className="muted small">No foreground layer in background-only mode.</p>;
  return (
    <canvas
      ref={ref}
      className="atlas-canvas"
      data-testid="atlas-canvas"
      data-view={view}
      data-iteration={preview.iteration}
      data-frame={preview.frame}
      role="img"
      aria-label={`${VIEWS.find((v) => v.kind === view)?.label}, frame ${preview.frame + 1}, iteration ${preview.iteration}`}
    />
  );
}

export function DecomposePanel() {
  const clip = useApp((s) => s.clip);
  const run = useApp((s) => s.run);
  const busy = useApp(runBusy);
  const atlas = useApp((s) => s.atlas);
  const settings = useApp((s) => s.decomposeSettings);
  const setSetting = useApp((s) => s.setDecomposeSetting);
  const decompose = useApp((s) => s.decompose);
  const pause = useApp((s) => s.pause);
  const resume = useApp((s) => s.resume);
  const stop = useApp((s) => s.stop);
  const view = useApp((s) => s.atlasView);
  const setView = useApp((s) => s.setAtlasView);
  const frame = useApp((s) => s.frame);
  const showFrame = useApp((s) => s.showFrame);
  const download = useApp((s) => s.downloadAtlas);
  const layers = useApp((s) => s.atlasLayers);
  const openAtlas = useApp((s) => s.openAtlas);
  const iterId = useId();
  const frameId = useId();
  // While the clip is being edited the worker's run is the edit's (the video edit panel shows it).
  const editing = useApp((s) => s.videoRun.info !== null || s.videoRun.pending);
  const state = editing ? 'done' : run.state;
  const decomposed = atlas !== null && !busy;
  const canContinue = state === 'stopped' && atlas !== null && atlas.iteration < atlas.iterations;
  const percent = atlas ? (100 * atlas.iteration) / atlas.iterations : 0;

  return (
    <section className="card run" aria-labelledby="decompose-heading">
      <h2>
        <span id="decompose-heading">Decompose into layers</span>{' '}
        <span className={`badge state-${state}`} data-testid="run-state" data-state={state}>
          {run.requested && !editing ? 'Preparing' : RUN_STATE_LABEL[state]}
        </span>
      </h2>
      <p className="help">
        The clip is split into a background atlas, a foreground atlas and a per-pixel opacity, so that an edit painted
        once on an atlas sticks to the video. This runs once per clip.
      </p>
      {layers && (
        <p className="small" data-testid="atlas-layers" data-mode={layers.mode}>
          {layers.reason}
        </p>
      )}
      <div className="field inline-field">
        <label htmlFor={iterId}>Iterations</label>
        <input
          id={iterId}
          type="number"
          min={1}
          step={100}
          value={settings.iterations}
          disabled={busy}
          onChange={(e) => {
            const n = Number(e.currentTarget.value);
            if (Number.isInteger(n) && n >= 1) setSetting('iterations', n);
          }}
        />
      </div>
      <p className="field inline-field">
        <input
          id={`${iterId}-bg`}
          type="checkbox"
          checked={settings.backgroundOnly}
          disabled={busy}
          onChange={(e) => setSetting('backgroundOnly', e.currentTarget.checked)}
        />
        <label htmlFor={`${iterId}-bg`}>Background only (no moving object: one layer, no alpha)</label>
      </p>
      <div className="actions" role="group" aria-label="Decomposition controls">
        <button type="button" className="primary" onClick={decompose} disabled={!clip || busy}>
          {atlas ? 'Decompose again' : 'Decompose'}
        </button>
        {state === 'paused' || state === 'pausing' ? (
          <button type="button" onClick={resume}>
            Resume
          </button>
        ) : canContinue ? (
          <button type="button" onClick={resume}>
            Continue
          </button>
        ) : (
          <button type="button" onClick={pause} disabled={!PAUSABLE.has(state)}>
            Pause
          </button>
        )}
        <button type="button" onClick={stop} disabled={!STOPPABLE.has(state)}>
          Stop
        </button>
        <button type="button" onClick={download} disabled={!decomposed} data-testid="download-atlas">
          Download decomposition
        </button>
        <OpenFileButton
          label="Open decomposition…"
          inputLabel="Open a decomposition file"
          disabled={!clip || busy}
          onFile={(f) => void openAtlas(f)}
        />
      </div>
      <div className="progress">
        <progress
          max={100}
          value={atlas || !busy ? percent : undefined}
          aria-label="Decomposition progress"
          aria-valuetext={atlas ? `Iteration ${atlas.iteration} of ${atlas.iterations}` : 'Not started'}
        />
        <p className="small stats" data-testid="atlas-progress">
          {atlas ? (
            <>
              Iteration <strong data-testid="atlas-iteration">{atlas.iteration}</strong> of {atlas.iterations} · PSNR{' '}
              {atlas.psnr.toFixed(1)} dB
              {atlas.secondsPerIteration !== null && <> · {atlas.secondsPerIteration.toFixed(2)} s/iteration</>}
              {atlas.etaSeconds !== null && (state === 'decomposing' || state === 'pausing') && (
                <> · about {formatDuration(atlas.etaSeconds)} left</>
              )}
            </>
          ) : (
            'Not decomposed yet.'
          )}
        </p>
        <p className="small activity" role="status">
          {busy && !editing ? (run.activity ?? '') : ''}
        </p>
      </div>
      <fieldset className="views" aria-label="View">
        {VIEWS.map((v) => (
          <label key={v.kind}>
            <input type="radio" name="atlas-view" checked={view === v.kind} onChange={() => setView(v.kind)} />{' '}
            {v.label}
          </label>
        ))}
      </fieldset>
      <AtlasCanvas />
      {clip && (
        <div className="field inline-field">
          <label htmlFor={frameId}>Frame</label>
          <input
            id={frameId}
            type="range"
            min={0}
            max={clip.info.frames - 1}
            value={frame}
            onChange={(e) => showFrame(Number(e.currentTarget.value))}
          />
          <output htmlFor={frameId}>
            {frame + 1} / {clip.info.frames}
          </output>
        </div>
      )}
    </section>
  );
}
