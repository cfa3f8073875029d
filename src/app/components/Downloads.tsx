/** Downloads of the result (PNG files and the session) and "Open session" to re-render or continue training. */
import { useId } from 'react';
import { OpenFileButton } from './OpenFileButton';
import type { RunState } from '../../worker/runState';
import { runBusy, useApp } from '../store';
import type { ExportKind } from '../../worker/protocol';
import { formatBytes } from '../../gpu/formatBytes';

const ITEMS: { kind: ExportKind; label: string; help: string }[] = [
  { kind: 'composite', label: 'Composite (PNG)', help: 'The edited photo.' },
  {
    kind: 'edit',
    label: 'Edit layer (RGBA PNG)',
    help: 'The painted layer with transparency, for your own compositing.',
  },
  { kind: 'alpha', label: 'Alpha matte (PNG)', help: 'The layer’s opacity as a grey image.' },
  { kind: 'greenscreen', label: 'Green screen (PNG)', help: 'The layer over green.' },
  { kind: 'session', label: 'Session file', help: 'Settings, photo and the trained generator, to continue later.' },
];

/** States in which an edit exists to download. */
const HAS_EDIT: ReadonlySet<RunState> = new Set(['training', 'pausing', 'paused', 'stopping', 'stopped', 'done']);

export function Downloads() {
  const run = useApp((s) => s.run);
  const busy = useApp(runBusy);
  const hasPreview = useApp((s) => s.preview !== null);
  const exporting = useApp((s) => s.exporting);
  const lastExport = useApp((s) => s.lastExport);
  const exportResult = useApp((s) => s.exportResult);
  const openSession = useApp((s) => s.openSession);
  const fullSizeChoice = useApp((s) => s.fullSizeDownloads);
  const setFullSize = useApp((s) => s.setFullSizeDownloads);
  const fullSizeId = useId();
  const hasJob = hasPreview && HAS_EDIT.has(run.state);
  const { workingSize, fullSize } = run;
  // A full-size render only differs from the working size for a photo larger than it.
  const canGrow =
    !!workingSize && !!fullSize && fullSize.width * fullSize.height > workingSize.width * workingSize.height;
  const full = canGrow && (fullSizeChoice ?? run.fullResolutionExport);
  const size = (s: { width: number; height: number }) => `${s.width}×${s.height} px`;
  const resolution = !workingSize
    ? ''
    : full
      ? `PNG files are rendered at full size, ${size(fullSize!)}, from the current generator.`
      : `PNG files are rendered at the working size, ${size(workingSize)}.`;

  return (
    <section className="card" aria-labelledby="downloads-heading">
      <h2 id="downloads-heading">Downloads</h2>
      {resolution && <p className="help">{resolution}</p>}
      {canGrow && (
        <p className="field inline-field">
          <input
            id={fullSizeId}
            type="checkbox"
            checked={full}
            onChange={(e) => setFullSize(e.currentTarget.checked)}
            aria-describedby={`${fullSizeId}-help`}
          />
          <label htmlFor={fullSizeId}>Render at full size</label>
          <span className="help" id={`${fullSizeId}-help`}>
            The generator works at any size: the PNG files are rendered from it at {size(fullSize!)}, the photo’s own
            size or the most this GPU renders in one pass. Slower, and it needs more GPU memory than the working size.
          </span>
        </p>
      )}
      <ul className="downloads">
        {ITEMS.map((it) => (
          <li key={it.kind}>
            <button
              type="button"
              onClick={() => exportResult(it.kind, it.kind === 'session' ? undefined : full)}
              disabled={!hasJob || exporting.includes(it.kind)}
              aria-describedby={`download-${it.kind}-help`}
              data-testid={`download-${it.kind}`}
            >
              {exporting.includes(it.kind) ? `Preparing ${it.label}…` : it.label}
            </button>
            <span className="help" id={`download-${it.kind}-help`}>
              {it.help}
            </span>
          </li>
        ))}
      </ul>
      {lastExport && (
        <p className="small" role="status">
          Saved {lastExport.filename}
          {lastExport.width ? ` (${lastExport.width}×${lastExport.height} px` : ' ('}
          {lastExport.width ? ', ' : ''}
          {formatBytes(lastExport.bytes, 'si')}).
        </p>
      )}
      <p className="actions">
        <OpenFileButton
          label="Open session…"
          inputLabel="Open a session file"
          disabled={busy}
          onFile={(f) => void openSession(f)}
        />
        <span className="help">Re-render or continue an edit saved as a session file.</span>
      </p>
    </section>
  );
}
