/** Errors and notices about the run (device loss and recovery, out of memory, finished). */
import { useApp } from '../store';

export function Notices() {
  const error = useApp((s) => s.error);
  const notices = useApp((s) => s.notices);
  const dismissNotice = useApp((s) => s.dismissNotice);
  const dismissError = useApp((s) => s.dismissError);
  return (
    <div className="notices" aria-live="polite">
      {error && (
        <div className="callout error" role="alert" data-testid="run-error" data-kind={error.kind}>
          <p className="error-message">{error.message}</p>
          {error.hint && <p>{error.hint}</p>}
          {error.recoverable && (
            <button type="button" className="linklike" onClick={dismissError}>
              Dismiss
            </button>
          )}
        </div>
      )}
      {notices.map((n) => (
        <div key={n.id} className={`callout ${n.tone}`} data-testid="notice">
          <p>{n.text}</p>
          <button
            type="button"
            className="linklike"
            onClick={() => dismissNotice(n.id)}
            aria-label={`Dismiss: ${n.text}`}
          >
            Dismiss
          </button>
        </div>
      ))}
    </div>
  );
}
