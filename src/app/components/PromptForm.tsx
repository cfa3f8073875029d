/** What the edit should look like (prompts, presets), how good and how long (quality level), and the seed. */
import { useId } from 'react';
import { PRESETS } from '../../edit/presets';
import { APP_QUALITY_LEVELS, qualitySettings, type AppQuality } from '../../edit/qualityLevels';
import { levelEstimate } from '../estimates';
import { runBusy, useApp, type AppState, type Prompts } from '../store';
import { formatDuration } from './format';

export function PromptForm() {
  const prompts = useApp((s) => s.prompts);
  const setPrompt = useApp((s) => s.setPrompt);
  const presetId = useApp((s) => s.presetId);
  const applyPreset = useApp((s) => s.applyPreset);
  const locked = useApp(runBusy);
  const presetSelect = useId();

  return (
    <section className="card" aria-labelledby="prompts-heading">
      <h2 id="prompts-heading">Edit</h2>
      <fieldset disabled={locked} className="plain">
        <legend className="visually-hidden">Prompts</legend>
        <div className="field">
          <label htmlFor={presetSelect}>Preset</label>
          <select id={presetSelect} value={presetId} onChange={(e) => applyPreset(e.currentTarget.value)}>
            <option value="">None (type your own)</option>
            {PRESETS.map((p) => (
              <option key={p.id} value={p.id}>
                {p.title}
              </option>
            ))}
          </select>
          {presetId && <p className="help">{PRESETS.find((p) => p.id === presetId)?.description}</p>}
        </div>
        <PromptField
          name="edit"
          label="Edit layer"
          required
          help="What the painted layer alone looks like, e.g. “fire”, “golden”, “snow”."
          value={prompts.edit}
          onChange={setPrompt}
        />
        <PromptField
          name="full"
          label="Full image"
          help="The whole edited photo, e.g. “golden horse”. Empty: the same as the edit layer."
          placeholder={prompts.edit || 'same as the edit layer'}
          value={prompts.full}
          onChange={setPrompt}
        />
        <PromptField
          name="input"
          label="Input photo"
          help="What the photo shows now, e.g. “horse”. Empty: “photo”."
          placeholder="photo"
          value={prompts.input}
          onChange={setPrompt}
        />
        <PromptField
          name="roi"
          label="Region of interest (optional)"
          help="Where the edit should go, e.g. “horse”. Turns on relevancy bootstrapping of the alpha."
          value={prompts.roi}
          onChange={setPrompt}
        />
      </fieldset>
      <QualityPicker disabled={locked} />
      <SeedField disabled={locked} />
    </section>
  );
}

/** One prompt's text field with its help (the photo form's and the video form's). */
export function PromptField<K extends string = keyof Prompts>(props: {
  name: K;
  label: string;
  help: string;
  value: string;
  required?: boolean;
  placeholder?: string;
  testId?: string;
  onChange: (key: K, value: string) => void;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>
        {props.label}
        {props.required && <span aria-hidden="true"> *</span>}
      </label>
      <input
        id={id}
        type="text"
        name={props.name}
        value={props.value}
        required={props.required}
        aria-required={props.required}
        placeholder={props.placeholder}
        maxLength={300}
        autoComplete="off"
        spellCheck
        aria-describedby={`${id}-help`}
        data-testid={props.testId}
        onChange={(e) => props.onChange(props.name, e.currentTarget.value)}
      />
      <p className="help" id={`${id}-help`}>
        {props.help}
      </p>
    </div>
  );
}

/**
 * What Start would run at a level (its size, steps and views after the user's explicit overrides) and, once a run
 * has measured this device, how long that takes here with the loaded model. Null values when unknown.
 */
function levelSummary(s: AppState, level: AppQuality): [number, number, number, number | null, string | null] {
  const q = qualitySettings(level);
  let config;
  try {
    config = s.resolvedConfig(level);
  } catch {
    return [q.size, q.steps, q.views, null, null];
  }
  const est = s.input
    ? levelEstimate(
        config,
        { width: s.input.width, height: s.input.height, modelId: s.model.id },
        s.timings[level],
        s.timings,
        s.model.vision ?? undefined,
      )
    : null;
  return [config.resizeInput, config.nEpochs, config.nAug, est?.seconds ?? null, est?.basis ?? null];
}

function QualityPicker({ disabled }: { disabled: boolean }) {
  const quality = useApp((s) => s.quality);
  const setQuality = useApp((s) => s.setQuality);
  const dev = useApp((s) => s.url.dev);
  // A string, so that the picker re-renders only when a summary changes.
  const summaries = useApp((s) => JSON.stringify(APP_QUALITY_LEVELS.map((l) => levelSummary(s, l))));
  const byLevel = JSON.parse(summaries) as ReturnType<typeof levelSummary>[];
  const levels = APP_QUALITY_LEVELS.filter((l) => l !== 'tiny' || dev);
  return (
    <fieldset className="quality" disabled={disabled}>
      <legend>Quality</legend>
      {levels.map((level) => {
        const q = qualitySettings(level);
        const [size, steps, views, est, basis] = byLevel[APP_QUALITY_LEVELS.indexOf(level)];
        const descId = `quality-${level}-desc`;
        return (
          <label key={level} className="radio-card">
            <input
              type="radio"
              name="quality"
              value={level}
              checked={quality === level}
              onChange={() => setQuality(level)}
              aria-describedby={descId}
            />
            <span className="radio-title">{q.label}</span>
            <span className="muted small" id={descId}>
              {size} px, {steps} steps, {views} CLIP views.{' '}
              <EstimateText seconds={est} basis={basis} testId={`estimate-${level}`} on="photo" />
            </span>
          </label>
        );
      })}
    </fieldset>
  );
}

/** A level's time estimate (or that there is none yet), as the quality pickers show it. */
export function EstimateText(props: {
  seconds: number | null;
  basis: string | null;
  testId: string;
  /** What a measured estimate was measured on (“photo”, “clip”). */
  on: string;
}) {
  const { seconds, basis } = props;
  if (seconds === null || !Number.isFinite(seconds)) return <>Time estimate after the first steps.</>;
  return (
    <>
      <strong data-testid={props.testId} data-seconds={seconds} data-basis={basis}>
        About {formatDuration(seconds)} on this GPU.
      </strong>{' '}
      {basis === 'measured'
        ? `(Measured on this ${props.on}.)`
        : '(Rough: scaled from a level that ran; its own first steps will measure it.)'}
    </>
  );
}

export function SeedField({ disabled }: { disabled: boolean }) {
  const seed = useApp((s) => s.seed);
  const setSeed = useApp((s) => s.setSeed);
  const usedSeed = useApp((s) => s.run.seed);
  const id = useId();
  const random = seed < 0;
  return (
    <fieldset className="seed" disabled={disabled}>
      <legend>Seed</legend>
      <label className="inline">
        <input type="checkbox" checked={random} onChange={(e) => setSeed(e.currentTarget.checked ? -1 : 0)} /> Random
        seed
      </label>
      <label htmlFor={id} className="inline">
        Seed value
      </label>
      <input
        id={id}
        type="number"
        min={0}
        max={4294967295}
        step={1}
        inputMode="numeric"
        value={random ? '' : seed}
        placeholder="random"
        disabled={random}
        onChange={(e) => {
          const v = Math.floor(Number(e.currentTarget.value));
          if (Number.isFinite(v) && v >= 0) setSeed(Math.min(v, 4294967295));
        }}
      />
      {usedSeed !== null && (
        <p className="help">
          The last run used seed <code>{usedSeed}</code>
          {random ? (
            <>
              {' '}
              ·{' '}
              <button type="button" className="linklike" onClick={() => setSeed(usedSeed)}>
                reuse it
              </button>
            </>
          ) : null}
        </p>
      )}
    </fieldset>
  );
}
