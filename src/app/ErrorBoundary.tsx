/**
 * A rendering error must not blank the page. The editor's part of the page is wrapped in this boundary: when a
 * component throws, it shows what happened and what is safe. Everything the user has lives in the store and the
 * worker, not in the components, so the photo, the settings and the edit are all still there: the last session can
 * be downloaded from here, the diagnostics copied for a bug report, and the editor drawn again.
 */
import { Component, useState, type ErrorInfo, type ReactNode } from 'react';
import { adapterName } from './GpuInfo';
import { useApp, type AppState } from './store';

/** What a bug report needs, without the photo or anything else personal. */
export function diagnostics(error: Error, componentStack: string | null | undefined, s: AppState): string {
  const gpu =
    s.gpu?.kind === 'ready' ? `${adapterName(s.gpu.summary)}${s.gpu.software ? ' (software)' : ''}` : s.gpu?.kind;
  const lines = [
    `Text2LIVE in the browser — diagnostics (${new Date().toISOString()})`,
    `Error: ${error.name}: ${error.message}`,
    `Stack: ${error.stack ?? '(none)'}`,
    `Component stack: ${componentStack?.trim() ?? '(none)'}`,
    `Browser: ${typeof navigator === 'undefined' ? '?' : navigator.userAgent}`,
    `GPU: ${gpu ?? 'not reported yet'}`,
    `Model: ${s.model.id} (${s.model.precision}), ${s.model.state}`,
    `Run: ${s.run.state}, step ${s.run.step} of ${s.run.totalSteps}, quality ${s.run.quality ?? s.quality}`,
    `Photo: ${s.input ? `${s.input.width}×${s.input.height} px` : 'none'}`,
    `Settings: ${JSON.stringify(s.advanced)}`,
  ];
  return lines.join('\n');
}

interface State {
  error: Error | null;
  componentStack: string | null;
}

export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  override state: State = { error: null, componentStack: null };

  static getDerivedStateFromError(error: Error): Partial<State> {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error(error, info.componentStack);
    this.setState({ componentStack: info.componentStack ?? null });
  }

  override render(): ReactNode {
    if (!this.state.error) return this.props.children;
    return (
      <PageError
        error={this.state.error}
        componentStack={this.state.componentStack}
        onRetry={() => this.setState({ error: null, componentStack: null })}
      />
    );
  }
}

function PageError(props: { error: Error; componentStack: string | null; onRetry: () => void }) {
  const hasEdit = useApp((s) => s.preview !== null && ['paused', 'stopped', 'done', 'training'].includes(s.run.state));
  const exportResult = useApp((s) => s.exportResult);
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async () => {
    const text = diagnostics(props.error, props.componentStack, useApp.getState());
    try {
      await navigator.clipboard.writeText(text);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('The clipboard is not available here; select the text below and copy it.');
    }
  };
  return (
    <section className="card callout error" role="alert" aria-labelledby="page-error-heading" data-testid="page-error">
      <h2 id="page-error-heading">Something on this page broke</h2>
      <p>
        A part of the page failed to draw: <q>{props.error.message}</q>. Your photo, your settings and your edit are
        kept: the training runs apart from the page, and nothing was lost.
      </p>
      <p className="actions">
        <button type="button" className="primary" onClick={props.onRetry}>
          Show the editor again
        </button>
        <button
          type="button"
          onClick={() => exportResult('session')}
          disabled={!hasEdit}
          data-testid="page-error-session"
        >
          Download the session
        </button>
        <button type="button" onClick={() => void copy()}>
          Copy diagnostics
        </button>
      </p>
      {copied && (
        <p className="small" role="status">
          {copied}
        </p>
      )}
      <details>
        <summary>Diagnostics</summary>
        <pre className="diagnostics" data-testid="diagnostics">
          {diagnostics(props.error, props.componentStack, useApp.getState())}
        </pre>
      </details>
    </section>
  );
}

/** Test hook (`?debug=1`): a button whose component throws on its next render, to show the boundary at work. */
export function SimulatePageError() {
  const [broken, setBroken] = useState(false);
  if (broken) throw new Error('simulated rendering error');
  return (
    <button type="button" className="debug" onClick={() => setBroken(true)}>
      Simulate a page error
    </button>
  );
}
