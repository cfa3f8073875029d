/** The photo: a drop zone that is also a button for the file picker; paste works anywhere on the page. */
import { useEffect, useRef, useState, type DragEvent } from 'react';
import { resizeShortSideDims } from '../../edit/image';
import { ACCEPT_ATTRIBUTE, MAX_INPUT_SIDE, pickImageFile } from '../imageInput';
import { runBusy, useApp } from '../store';

export function PhotoInput() {
  const input = useApp((s) => s.input);
  const error = useApp((s) => s.inputError);
  const setInputFile = useApp((s) => s.setInputFile);
  const running = useApp(runBusy);
  const workingShortSide = useApp((s) => {
    try {
      return s.resolvedConfig().resizeInput;
    } catch {
      return 0;
    }
  });
  const fileRef = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);

  const onFiles = (files: FileList | null | undefined) => {
    const file = pickImageFile(files);
    if (file) void setInputFile(file);
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    e.stopPropagation();
    setDragging(false);
    onFiles(e.dataTransfer.files);
  };

  const working = input ? resizeShortSideDims(input.width, input.height, workingShortSide) : null;

  return (
    <section className="card" aria-labelledby="photo-heading">
      <h2 id="photo-heading">Photo</h2>
      <div
        className={`dropzone${dragging ? ' dragging' : ''}${input ? ' has-photo' : ''}`}
        onDragEnter={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragOver={(e) => {
          e.preventDefault();
          e.dataTransfer.dropEffect = 'copy';
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="dropzone"
      >
        {input ? <Thumbnail bitmap={input.bitmap} name={input.name} /> : null}
        <p>
          {input ? 'Drop another photo here, paste one, or ' : 'Drop a photo here, paste one (Ctrl+V), or '}
          <button type="button" className="linklike" onClick={() => fileRef.current?.click()}>
            choose a file
          </button>
          .
        </p>
        <p className="muted small">JPEG, PNG or WebP. The photo stays on this device.</p>
        <input
          ref={fileRef}
          id="photo-file"
          type="file"
          accept={ACCEPT_ATTRIBUTE}
          className="visually-hidden"
          aria-label="Choose a photo"
          tabIndex={-1}
          onChange={(e) => {
            onFiles(e.currentTarget.files);
            e.currentTarget.value = '';
          }}
        />
      </div>
      {error && (
        <p className="callout error" role="alert" id="photo-error">
          {error}
          {input ? ' Your previous photo is still loaded.' : ''}
        </p>
      )}
      {input && (
        <dl className="facts compact" aria-label="Photo details">
          <dt>File</dt>
          <dd data-testid="photo-name">{input.name}</dd>
          <dt>Size</dt>
          <dd data-testid="photo-size">
            {input.width}×{input.height} px
          </dd>
          {working && workingShortSide > 0 && (
            <>
              <dt>Trained at</dt>
              <dd>
                {working.width}×{working.height} px
              </dd>
            </>
          )}
        </dl>
      )}
      {input?.downscaled && (
        <p className="callout warning" role="note" data-testid="downscale-notice">
          This photo is {input.originalWidth}×{input.originalHeight} px; it was reduced to {input.width}×{input.height}{' '}
          px, the largest size the final render supports ({MAX_INPUT_SIDE} px on the longest side). Training itself runs
          at the working size of the quality level.
        </p>
      )}
      {running && input && <p className="muted small">A new photo is used at the next Start.</p>}
    </section>
  );
}

function Thumbnail({ bitmap, name }: { bitmap: ImageBitmap; name: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current;
    if (!c) return;
    const scale = Math.min(1, 320 / Math.max(bitmap.width, bitmap.height));
    c.width = Math.max(1, Math.round(bitmap.width * scale));
    c.height = Math.max(1, Math.round(bitmap.height * scale));
    c.getContext('2d')?.drawImage(bitmap, 0, 0, c.width, c.height);
  }, [bitmap]);
  return <canvas ref={ref} className="thumb" role="img" aria-label={`The photo: ${name}`} />;
}
