/** Downloads of the result (PNG files and the session) and "Open session" to re-render or continue training. */
import { useRef } from 'react';
import { useApp } from '../store';
import type { ExportKind } from '../../worker/protocol';
import { formatBytes } from './format';

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

export function Downloads() {
  const run = useApp((s) => s.run);
  const hasPreview = useApp((s) => s.preview !== null);
  const exporting = useApp((s) => s.exporting);
  const lastExport = useApp((s) => s.lastExport);
  const exportResult = useApp((s) => s.exportResult);
  const openSession = useApp((s) => s.openSession);
  const fileRef = useRef<HTMLInputElement>(null);
  const hasJob = hasPreview && ['running', 'paused', 'stopped', 'done'].includes(run.state);
  const busy = run.state === 'running' || run.state === 'paused' || run.state === 'loading';
  const resolution =
    run.fullResolutionExport && run.workingSize
      ? 'PNG files are rendered at the photo’s full resolution (up to 2048 px).'
      : run.workingSize
        ? `PNG files are rendered at the working size, ${run.workingSize.width}×${run.workingSize.height} px.`
        : '';

  return (
    <section className="card" aria-labelledby="downloads-heading">
      <h2 id="downloads-heading">Downloads</h2>
      {resolution && <p className="help">{resolution}</p>}
      <ul className="downloads">
        {ITEMS.map((it) => (
          <li key={it.kind}>
            <button
              type="button"
              onClick={() => exportResult(it.kind)}
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
          {formatBytes(lastExport.bytes)}).
        </p>
      )}
      <p className="actions">
        <button type="button" onClick={() => fileRef.current?.click()} disabled={busy}>
          Open session…
        </button>
        <span className="help">Re-render or continue an edit saved as a session file.</span>
        <input
          ref={fileRef}
          type="file"
          accept=".safetensors,application/octet-stream"
          className="visually-hidden"
          tabIndex={-1}
          aria-label="Open a session file"
          onChange={(e) => {
            const f = e.currentTarget.files?.[0];
            e.currentTarget.value = '';
            if (f) void openSession(f);
          }}
        />
      </p>
    </section>
  );
}
