/**
 * The clip: a drop zone that is also a button for the file picker (an MP4, MOV or WebM file, or a zip of PNG/JPEG
 * frames) with a second button for a folder of frames; the trim (first frame, how many, every n-th) and the working
 * size; the frame strip and the decoded count. A bad file is named with what is wrong and the clip from before
 * stays; a clip that is too long offers the trims that fit.
 */
import { useEffect, useId, useRef, useState, type DragEvent } from 'react';
import { runBusy, useApp } from '../store';
import type { ClipTrim } from '../store';

const ACCEPT = 'video/mp4,video/quicktime,video/webm,.mp4,.mov,.m4v,.webm,.zip,application/zip';

function TrimField(props: { label: string; name: keyof ClipTrim; min: number; help: string; optional?: boolean }) {
  const id = useId();
  const value = useApp((s) => s.trim[props.name]);
  const setTrim = useApp((s) => s.setTrim);
  const busy = useApp(runBusy);
  return (
    <div className="field inline-field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        type="number"
        min={props.min}
        step={1}
        value={value ?? ''}
        placeholder={props.optional ? 'all' : undefined}
        disabled={busy}
        aria-describedby={`${id}-help`}
        onChange={(e) => {
          const raw = e.currentTarget.value;
          const n = Number(raw);
          if (raw === '' && props.optional) setTrim(props.name, null as never);
          else if (Number.isInteger(n) && n >= props.min) setTrim(props.name, n as never);
        }}
      />
      <span className="help" id={`${id}-help`}>
        {props.help}
      </span>
    </div>
  );
}

function Strip() {
  const clip = useApp((s) => s.clip);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const host = ref.current;
    if (!host || !clip) return;
    host.replaceChildren(
      ...clip.strip.map((b, i) => {
        const c = document.createElement('canvas');
        c.width = b.width;
        c.height = b.height;
        c.getContext('2d')?.drawImage(b, 0, 0);
        c.setAttribute('role', 'img');
        c.setAttribute('aria-label', `Frame ${clip.stripFrames[i] + 1}`);
        return c;
      }),
    );
  }, [clip]);
  if (!clip) return null;
  const info = clip.info;
  return (
    <>
      <div className="frame-strip" ref={ref} data-testid="clip-strip" aria-label="Frames of the clip" />
      <p className="small" data-testid="clip-info">
        <strong>{info.name}</strong>: {info.frames} frames decoded at {info.width}×{info.height} px (of{' '}
        {info.sourceFrameCount} in the source, {Number(info.frameRate.toFixed(2))} frames per second)
        {info.hasMasks ? ', with masks' : ''}.
      </p>
    </>
  );
}

export function VideoInput() {
  const clip = useApp((s) => s.clip);
  const clipInput = useApp((s) => s.clipInput);
  const progress = useApp((s) => s.clipProgress);
  const error = useApp((s) => s.clipError);
  const importClip = useApp((s) => s.importClip);
  const applyTrim = useApp((s) => s.applySuggestedTrim);
  const busy = useApp(runBusy);
  const fileRef = useRef<HTMLInputElement>(null);
  const dirRef = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);

  useEffect(() => {
    // `webkitdirectory` is not in React's attribute list.
    dirRef.current?.setAttribute('webkitdirectory', '');
  }, []);

  const addNotice = useApp((s) => s.addNotice);
  const onFiles = (files: FileList | null | undefined) => {
    if (!files || files.length === 0) return;
    if (busy) {
      // A drop while a decomposition or an import runs is not lost silently.
      addNotice('warning', 'Stop the running work before bringing in another clip.');
      return;
    }
    const list = Array.from(files);
    importClip(list.length === 1 && !list[0].webkitRelativePath ? list[0] : list);
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    e.stopPropagation();
    setDragging(false);
    onFiles(e.dataTransfer.files);
  };

  return (
    <section className="card" aria-labelledby="clip-heading">
      <h2 id="clip-heading">Clip</h2>
      <div
        className={`dropzone${dragging ? ' dragging' : ''}${clip ? ' has-photo' : ''}`}
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
        data-testid="video-dropzone"
      >
        <p>
          {clip ? 'Drop another clip here, or ' : 'Drop a short clip here, or '}
          <button type="button" className="linklike" onClick={() => fileRef.current?.click()} disabled={busy}>
            choose a file
          </button>{' '}
          or{' '}
          <button type="button" className="linklike" onClick={() => dirRef.current?.click()} disabled={busy}>
            a folder of frames
          </button>
          .
        </p>
        <p className="muted small">
          MP4, MOV or WebM, or a zip or folder of PNG/JPEG frames (with a <code>masks/</code> folder of the same names
          for the object, if you have one). At most 70 frames are decomposed. The clip stays on this device.
        </p>
        <input
          ref={fileRef}
          type="file"
          accept={ACCEPT}
          className="visually-hidden"
          aria-label="Choose a clip"
          tabIndex={-1}
          onChange={(e) => {
            onFiles(e.currentTarget.files);
            e.currentTarget.value = '';
          }}
        />
        <input
          ref={dirRef}
          type="file"
          multiple
          className="visually-hidden"
          aria-label="Choose a folder of frames"
          tabIndex={-1}
          onChange={(e) => {
            onFiles(e.currentTarget.files);
            e.currentTarget.value = '';
          }}
        />
      </div>
      <fieldset className="trim" disabled={busy}>
        <legend>Trim and size</legend>
        <TrimField label="First frame" name="start" min={0} help="0 is the first frame of the clip." />
        <TrimField label="Frames" name="frameCount" min={1} optional help="How many frames to keep (empty: all)." />
        <TrimField label="Every n-th frame" name="stride" min={1} help="1 keeps every frame, 2 every other one." />
        <TrimField
          label="Long side at most (px)"
          name="maxSide"
          min={16}
          help="The working size (768 = 768×432 for 16:9)."
        />
        <button type="button" onClick={() => importClip()} disabled={!clipInput || busy}>
          Import again with this trim
        </button>
      </fieldset>
      {progress && (
        <p className="small" role="status" data-testid="clip-progress">
          Decoding… {progress.total > 0 ? `${progress.done} of ${progress.total} frames` : ''}
        </p>
      )}
      {error && (
        <div className="callout error" role="alert" data-testid="video-error" data-kind={error.importKind}>
          <p>{error.message}</p>
          {clip && <p>The clip from before is still loaded.</p>}
          {error.suggestedTrims && error.suggestedTrims.length > 0 && (
            <p className="actions">
              {error.suggestedTrims.map((t) => (
                <button key={`${t.start}-${t.stride}-${t.frameCount}`} type="button" onClick={() => applyTrim(t)}>
                  Keep {t.frameCount} frames{t.stride > 1 ? `, every ${t.stride}${t.stride === 2 ? 'nd' : 'th'}` : ''}{' '}
                  from frame {t.start}
                </button>
              ))}
            </p>
          )}
        </div>
      )}
      <Strip />
    </section>
  );
}
