/**
 * The video edit's downloads: the edited clip (MP4, with the encoder's quality), its frames as PNGs in a zip, the
 * RGBA edit layer's frames in a zip, the edited atlas (PNG) and the session; the progress of a long export, and
 * "Open session" to bring a video edit back on the loaded clip's decomposition. Off while a run goes on.
 */
import { useId } from 'react';
import { formatBytes } from '../../gpu/formatBytes';
import type { VideoExportKind, VideoExportQuality } from '../../worker/protocol';
import type { RunState } from '../../worker/runState';
import { runBusy, useApp } from '../store';
import { OpenFileButton } from './OpenFileButton';

type Kind = VideoExportKind | 'session';

const ITEMS: { kind: Kind; label: string; help: string }[] = [
  { kind: 'video', label: 'Edited video (MP4)', help: 'The composite frames at the clip’s frame rate.' },
  { kind: 'frames', label: 'Frames (PNG zip)', help: 'Every edited frame as a PNG.' },
  {
    kind: 'layers',
    label: 'Edit layer frames (RGBA PNG zip)',
    help: 'The painted layer of every frame with transparency, for your own compositing.',
  },
  { kind: 'atlas-edit', label: 'Edited atlas (PNG)', help: 'The edit as painted on the layer’s atlas.' },
  {
    kind: 'session',
    label: 'Session file',
    help: 'Settings and the trained generator, to continue later on this clip’s decomposition.',
  },
];

const QUALITIES: { value: VideoExportQuality; label: string }[] = [
  { value: 'low', label: 'Low (small file)' },
  { value: 'medium', label: 'Medium' },
  { value: 'high', label: 'High' },
];

/** States in which an edit exists and nothing steps (downloads render from it). */
const SETTLED: ReadonlySet<RunState> = new Set(['paused', 'stopped', 'done']);

export function VideoDownloads() {
  const hasEdit = useApp((s) => s.videoRun.info !== null);
  const state = useApp((s) => s.run.state);
  const busy = useApp(runBusy);
  const exporting = useApp((s) => s.exporting);
  const progress = useApp((s) => s.exportProgress);
  const lastExport = useApp((s) => s.lastExport);
  const quality = useApp((s) => s.videoExportQuality);
  const setQuality = useApp((s) => s.setVideoExportQuality);
  const exportVideo = useApp((s) => s.exportVideo);
  const openSession = useApp((s) => s.openSession);
  const hasClip = useApp((s) => s.clip !== null);
  const qualityId = useId();
  const requested = useApp((s) => s.run.requested !== null);
  const usable = hasEdit && SETTLED.has(state) && !requested;
  const under = ITEMS.filter((it) => exporting.includes(it.kind));

  return (
    <section className="card" aria-labelledby="video-downloads-heading">
      <h2 id="video-downloads-heading">Video downloads</h2>
      {!hasEdit ? (
        <p className="help">The downloads are ready once an edit has run.</p>
      ) : !usable ? (
        <p className="help">Pause or stop the training to download.</p>
      ) : null}
      <div className="field inline-field">
        <label htmlFor={qualityId}>Video quality</label>
        <select
          id={qualityId}
          value={quality}
          onChange={(e) => setQuality(e.currentTarget.value as VideoExportQuality)}
          data-testid="video-export-quality"
        >
          {QUALITIES.map((q) => (
            <option key={q.value} value={q.value}>
              {q.label}
            </option>
          ))}
        </select>
      </div>
      <ul className="downloads">
        {ITEMS.map((it) => (
          <li key={it.kind}>
            <button
              type="button"
              onClick={() => exportVideo(it.kind, it.kind === 'video' ? quality : undefined)}
              disabled={!usable || exporting.includes(it.kind)}
              aria-describedby={`video-download-${it.kind}-help`}
              data-testid={`video-download-${it.kind}`}
            >
              {exporting.includes(it.kind) ? `Preparing ${it.label}…` : it.label}
            </button>
            <span className="help" id={`video-download-${it.kind}-help`}>
              {it.help}
            </span>
          </li>
        ))}
      </ul>
      {under.length > 0 && (
        <div className="progress" data-testid="video-export-progress">
          {under.map((it) => {
            const p = progress[it.kind];
            return (
              <p key={it.kind} className="small">
                <progress
                  max={p?.total || 1}
                  value={p ? p.done : undefined}
                  aria-label={`${it.label}: export progress`}
                  aria-valuetext={p ? `${p.done} of ${p.total} frames` : 'Starting'}
                />{' '}
                {it.label}: {p ? `${p.done} of ${p.total} frames` : 'starting…'}
              </p>
            );
          })}
        </div>
      )}
      {lastExport && (
        <p className="small" role="status">
          Saved {lastExport.filename} ({formatBytes(lastExport.bytes, 'si')}).
        </p>
      )}
      <p className="actions">
        <OpenFileButton
          label="Open session…"
          inputLabel="Open a video session file"
          disabled={busy || !hasClip}
          onFile={(f) => void openSession(f)}
        />
        <span className="help">Continue or re-render a video edit saved as a session, on this clip.</span>
      </p>
    </section>
  );
}
