/** Which CLIP model, where it comes from, its download progress, whether it is cached, and local files. */
import { useEffect, useId, useRef } from 'react';
import { DEFAULT_MODEL_ID, modelFileList, type Precision } from '../../clip/modelFiles';
import type { PickedModelFile } from '../../worker/protocol';
import { runBusy, useApp } from '../store';
import { formatBytes } from '../../gpu/formatBytes';

const STATE_TEXT = {
  unknown: 'Not loaded yet.',
  'not-cached': 'Not downloaded yet: the first Start downloads it.',
  cached: 'Downloaded before: it loads from this browser’s cache, without network.',
  partial: 'Partly downloaded: the next Start (or Load model now) continues where it stopped.',
  loading: 'Loading…',
  ready: 'Loaded.',
  error: 'Loading failed.',
} as const;

function toPicked(files: FileList | null): PickedModelFile[] {
  return Array.from(files ?? []).map((f) => ({ path: f.webkitRelativePath || f.name, file: f }));
}

export function ModelPanel() {
  const model = useApp((s) => s.model);
  const setPrecision = useApp((s) => s.setPrecision);
  const setPicked = useApp((s) => s.setPickedModelFiles);
  const loadModel = useApp((s) => s.loadModel);
  const checkModelCache = useApp((s) => s.checkModelCache);
  const clearModelCache = useApp((s) => s.clearModelCache);
  const cancelDownload = useApp((s) => s.cancelModelDownload);
  const busy = useApp(runBusy);
  const precisionId = useId();
  const dirRef = useRef<HTMLInputElement>(null);
  const filesRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    void checkModelCache();
  }, [checkModelCache]);

  useEffect(() => {
    // `webkitdirectory` is not in React's attribute list.
    dirRef.current?.setAttribute('webkitdirectory', '');
  }, []);

  const isDefault = model.id === DEFAULT_MODEL_ID;
  const sizes = modelFileList(model.precision);
  const approx = sizes.reduce((s, f) => s + f.approxBytes, 0);
  const loading = model.state === 'loading';

  return (
    <section className="card" aria-labelledby="model-heading">
      <h2 id="model-heading">CLIP model</h2>
      <p>
        <strong>{isDefault ? 'CLIP ViT-B/32' : model.id}</strong>{' '}
        <span className="muted">
          ({model.id}, transformers.js layout){isDefault ? `, about ${formatBytes(approx, 'si')} in all` : ''}.
        </span>
      </p>
      <p className="muted small">
        From this site’s <code>{model.baseUrl}</code> folder when it is self-hosted, else from the Hugging Face Hub;
        stored in this browser afterwards. Only the model files are downloaded; nothing is uploaded.
      </p>
      <div className="field inline-field">
        <label htmlFor={precisionId}>Vision weights</label>
        <select
          id={precisionId}
          value={model.precision}
          disabled={busy || loading}
          onChange={(e) => setPrecision(e.currentTarget.value as Precision)}
        >
          <option value="fp32">fp32 (exact{isDefault ? ', about 352 MB' : ''})</option>
          <option value="fp16">fp16 (half the download{isDefault ? ', about 176 MB' : ''})</option>
        </select>
      </div>
      <p role="status" data-testid="model-state" data-state={model.state}>
        {model.state === 'ready' && model.fromCache ? 'Loaded from this browser’s cache.' : STATE_TEXT[model.state]}
      </p>
      {model.state === 'ready' && model.vision && (
        <p className="small muted" data-testid="model-architecture">
          Vision tower: {model.vision.numHiddenLayers} blocks of width {model.vision.hiddenSize},{' '}
          {model.vision.patchSize} px patches, {model.vision.imageSize}×{model.vision.imageSize} px input. Time
          estimates are priced for it.
        </p>
      )}
      {(loading || (model.state === 'ready' && model.total > 0)) && (
        <div className="download">
          <progress
            max={100}
            value={model.percent}
            aria-label="Model download"
            aria-valuetext={`${Math.round(model.percent)} percent`}
          />
          <p className="small" data-testid="model-progress">
            {formatBytes(model.loaded, 'si')}
            {model.total > 0 ? ` of ${formatBytes(model.total, 'si')}` : ''} ({Math.round(model.percent)}%)
            {model.file && loading ? ` · ${model.file}` : ''}
            {model.source === 'cache' ? ' · from cache' : ''}
          </p>
          {loading && (
            <button type="button" onClick={cancelDownload}>
              Cancel download
            </button>
          )}
        </div>
      )}
      {model.error && (
        <div className="callout error" role="alert" data-testid="model-error">
          <p className="error-message">{model.error.message}</p>
          {model.error.hint && <p>{model.error.hint}</p>}
          <p className="actions">
            <button type="button" onClick={loadModel} disabled={loading}>
              Retry download
            </button>
            <button type="button" onClick={() => dirRef.current?.click()}>
              Use model files from disk…
            </button>
          </p>
        </div>
      )}
      <details className="local-model" open={model.picked !== null || undefined}>
        <summary>Use model files from disk</summary>
        <p className="help">
          Pick the model’s folder (with <code>config.json</code>, <code>tokenizer.json</code>,{' '}
          <code>tokenizer_config.json</code> and <code>onnx/</code>) or select its files. They are read locally.
        </p>
        <p className="actions">
          <button type="button" onClick={() => dirRef.current?.click()} disabled={busy}>
            Choose folder…
          </button>
          <button type="button" onClick={() => filesRef.current?.click()} disabled={busy}>
            Choose files…
          </button>
          {model.picked && (
            <button type="button" onClick={() => setPicked(null)} disabled={busy}>
              Use the network again
            </button>
          )}
        </p>
        <input
          ref={dirRef}
          type="file"
          multiple
          className="visually-hidden"
          tabIndex={-1}
          aria-label="Model folder"
          onChange={(e) => {
            setPicked(toPicked(e.currentTarget.files));
            e.currentTarget.value = '';
          }}
        />
        <input
          ref={filesRef}
          type="file"
          multiple
          accept=".json,.onnx"
          className="visually-hidden"
          tabIndex={-1}
          aria-label="Model files"
          onChange={(e) => {
            setPicked(toPicked(e.currentTarget.files));
            e.currentTarget.value = '';
          }}
        />
        {model.picked && (
          <p className="small" data-testid="picked-files">
            {model.picked.length} file{model.picked.length === 1 ? '' : 's'} picked (
            {formatBytes(
              model.picked.reduce((s, f) => s + f.file.size, 0),
              'si',
            )}
            ); the next load uses them.
          </p>
        )}
      </details>
      <p className="actions">
        <button type="button" onClick={loadModel} disabled={busy || loading || model.state === 'ready'}>
          {model.state === 'ready' ? 'Model loaded' : 'Load model now'}
        </button>
        <button type="button" onClick={clearModelCache} disabled={busy || loading}>
          Remove cached model
        </button>
      </p>
    </section>
  );
}
