/**
 * The video edit's run: its state, step and time left, Pause / Resume / Stop (the shared training controls), and
 * the live preview: the chosen frame as it is being edited beside the edited atlas, with a slider for the frame.
 */
import { useId } from 'react';
import type { VideoEditPreview } from '../store';
import { useApp } from '../store';
import { BitmapCanvas } from './BitmapCanvas';
import { RunControls } from './RunControls';

export function VideoEditPanel() {
  const active = useApp((s) => s.videoRun.info !== null || s.videoRun.pending);
  return (
    <RunControls title="Video edit" start={null} testIdPrefix="video-" active={active}>
      <VideoPreview />
    </RunControls>
  );
}

function VideoPreview() {
  const preview = useApp((s) => s.videoPreview);
  const frames = useApp((s) => s.videoRun.info?.frames ?? s.clip?.info.frames ?? 0);
  const chosen = useApp((s) => s.videoPreviewFrame);
  const choose = useApp((s) => s.choosePreviewFrame);
  const hasEdit = useApp((s) => s.videoRun.info !== null);
  const frameId = useId();
  return (
    <div className="video-preview">
      {preview ? (
        <PreviewPair preview={preview} />
      ) : (
        <p className="muted small">The live preview appears once the edit starts.</p>
      )}
      {hasEdit && frames > 1 && (
        <div className="field inline-field">
          <label htmlFor={frameId}>Preview frame</label>
          <input
            id={frameId}
            type="range"
            min={0}
            max={frames - 1}
            value={chosen}
            data-testid="video-preview-slider"
            onChange={(e) => choose(Number(e.currentTarget.value))}
          />
          <output htmlFor={frameId}>
            {chosen + 1} / {frames}
          </output>
        </div>
      )}
    </div>
  );
}

function PreviewPair({ preview }: { preview: VideoEditPreview }) {
  return (
    <div className="preview-pair">
      <figure>
        <BitmapCanvas
          bitmap={preview.images.composite}
          className="preview-canvas"
          data-testid="video-preview-frame"
          data-frame={preview.frame}
          data-step={preview.step}
          aria-label={`Frame ${preview.frame + 1} edited, step ${preview.step}`}
        />
        <figcaption className="small muted">
          Frame {preview.frame + 1} at step {preview.step}
        </figcaption>
      </figure>
      <figure>
        <BitmapCanvas
          bitmap={preview.atlas}
          className="preview-canvas checker"
          data-testid="video-preview-atlas"
          data-step={preview.step}
          aria-label={`The edited atlas, step ${preview.step}`}
        />
        <figcaption className="small muted">The edit on the atlas</figcaption>
      </figure>
    </div>
  );
}
