/**
 * What a decomposed clip's edit should look like: a preset (those written for this clip first), the prompts, the
 * layer to paint on (the default rule's choice shown), the quality level with its time estimate on this GPU, the
 * seed, and Start (disabled, with the reason, until there is a decomposition and a prompt).
 */
import { useId } from 'react';
import type { EditLayer } from '../../video/edit/layerData';
import { VIDEO_QUALITY, VIDEO_QUALITY_LEVELS, type VideoQuality } from '../../video/edit/videoConfig';
import {
  hasForeground,
  presetsForClip,
  runBusy,
  shownDefaultLayer,
  useApp,
  videoEstimate,
  videoStartBlocker,
  type VideoLayerChoice,
} from '../store';
import { formatDuration } from './format';
import { EstimateText, PromptField, SeedField } from './PromptForm';

const LAYER_LABEL: Record<EditLayer, string> = { foreground: 'Foreground', background: 'Background' };

export function VideoEditForm() {
  const form = useApp((s) => s.videoForm);
  const clipName = useApp((s) => s.clip?.info.name ?? null);
  const applyPreset = useApp((s) => s.applyVideoPreset);
  const setPrompt = useApp((s) => s.setVideoPrompt);
  const setLayer = useApp((s) => s.setVideoLayer);
  const start = useApp((s) => s.startVideoEdit);
  const locked = useApp((s) => runBusy(s) || s.videoRun.pending);
  const defaultLayer = useApp(shownDefaultLayer);
  const foreground = useApp(hasForeground);
  const blocker = useApp(videoStartBlocker);
  const presetId = useId();
  const blockerId = useId();
  const { forClip, others } = presetsForClip(clipName);
  const preset = [...forClip, ...others].find((p) => p.id === form.presetId);
  const layers: VideoLayerChoice[] = ['auto', 'foreground', 'background'];

  return (
    <section className="card" aria-labelledby="video-edit-heading" data-testid="video-edit-form">
      <h2 id="video-edit-heading">Edit the video</h2>
      <fieldset disabled={locked} className="plain">
        <legend className="visually-hidden">Prompts</legend>
        <div className="field">
          <label htmlFor={presetId}>Preset</label>
          <select
            id={presetId}
            value={form.presetId}
            data-testid="video-preset"
            onChange={(e) => applyPreset(e.currentTarget.value as typeof form.presetId)}
          >
            <option value="">None (type your own)</option>
            {forClip.length > 0 && (
              <optgroup label="For this clip">
                {forClip.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.title}
                  </option>
                ))}
              </optgroup>
            )}
            <optgroup label={forClip.length > 0 ? 'Other clips' : 'The paper’s examples'}>
              {others.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.title} ({p.clip})
                </option>
              ))}
            </optgroup>
          </select>
          {preset && (
            <p className="help">
              Written for the DAVIS clip “{preset.clip}”, editing its {preset.layer}.
            </p>
          )}
        </div>
        <PromptField
          name="screenText"
          label="Edit layer"
          required
          testId="video-prompt"
          help="What the painted layer alone looks like, e.g. “golden”, “snow everywhere”. Several descriptions: separate them with “;”."
          value={form.prompts.screenText}
          onChange={setPrompt}
        />
        <PromptField
          name="compText"
          label="Edited video"
          testId="video-prompt-comp"
          help="The whole edited frame, e.g. “golden swan”. Empty: the same as the edit layer."
          placeholder={form.prompts.screenText || 'same as the edit layer'}
          value={form.prompts.compText}
          onChange={setPrompt}
        />
        <PromptField
          name="srcText"
          label="What it shows now"
          testId="video-prompt-src"
          help="The layer as it is, e.g. “swan” or “park”. Naming the object makes the foreground the default layer."
          value={form.prompts.srcText}
          onChange={setPrompt}
        />
        <fieldset className="segmented" aria-describedby={`${presetId}-layer-help`}>
          <legend>Layer to edit</legend>
          {layers.map((l) => {
            const text =
              l === 'auto'
                ? `Automatic: ${LAYER_LABEL[defaultLayer].toLowerCase()}`
                : `${LAYER_LABEL[l]}${l === defaultLayer ? ' (default)' : ''}`;
            return (
              <label key={l} className={form.layer === l ? 'on' : undefined}>
                <input
                  type="radio"
                  name="video-layer"
                  value={l}
                  checked={form.layer === l}
                  disabled={l === 'foreground' && !foreground}
                  onChange={() => setLayer(l)}
                  data-testid={`video-layer-${l}`}
                />
                {text}
              </label>
            );
          })}
        </fieldset>
        <p className="help" id={`${presetId}-layer-help`}>
          {foreground
            ? 'The foreground is the moving object, the background everything behind it.'
            : 'This decomposition has only a background layer.'}
        </p>
      </fieldset>
      <VideoQualityPicker disabled={locked} />
      <SeedField disabled={locked} />
      <div className="actions">
        <button
          type="button"
          className="primary"
          onClick={start}
          disabled={blocker !== null}
          aria-describedby={blocker ? blockerId : undefined}
          data-testid="video-start"
        >
          Start editing
        </button>
      </div>
      {blocker && (
        <p className="muted small" id={blockerId} data-testid="video-start-blocker">
          {blocker}
        </p>
      )}
    </section>
  );
}

function VideoQualityPicker({ disabled }: { disabled: boolean }) {
  const quality = useApp((s) => s.videoForm.quality);
  const setQuality = useApp((s) => s.setVideoQuality);
  const dev = useApp((s) => s.url.dev);
  // A string, so that the picker re-renders only when an estimate changes.
  const estimates = useApp((s) => JSON.stringify(VIDEO_QUALITY_LEVELS.map((l) => videoEstimate(s, l))));
  const byLevel = JSON.parse(estimates) as ReturnType<typeof videoEstimate>[];
  const id = useId();
  const levels = VIDEO_QUALITY_LEVELS.filter((l) => l !== 'tiny' || dev || quality === 'tiny');
  const est = byLevel[VIDEO_QUALITY_LEVELS.indexOf(quality)];
  return (
    <div className="field">
      <label htmlFor={id}>Quality</label>
      <select
        id={id}
        value={quality}
        disabled={disabled}
        data-testid="video-quality"
        aria-describedby={`${id}-help`}
        onChange={(e) => setQuality(e.currentTarget.value as VideoQuality)}
      >
        {levels.map((l) => {
          const e = byLevel[VIDEO_QUALITY_LEVELS.indexOf(l)];
          return (
            <option key={l} value={l}>
              {VIDEO_QUALITY[l].label}
              {e && Number.isFinite(e.seconds) ? ` — about ${formatDuration(e.seconds)}` : ''}
            </option>
          );
        })}
      </select>
      <p className="help" id={`${id}-help`}>
        {VIDEO_QUALITY[quality].description}{' '}
        <EstimateText seconds={est?.seconds ?? null} basis={est?.basis ?? null} testId="video-estimate" on="clip" />
      </p>
    </div>
  );
}
