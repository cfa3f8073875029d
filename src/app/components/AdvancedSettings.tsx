/** Every loss weight, optimizer and augmentation setting of the configuration, with "reset to defaults". */
import { useId, useState } from 'react';
import { ConfigError, validateConfig, type EditConfig, type EditConfigKey } from '../../edit/config';
import { levelDefaults } from '../../edit/qualityLevels';
import { runBusy, useApp } from '../store';

type Kind =
  | { type: 'number'; step?: number; min?: number; max?: number }
  | { type: 'select'; options: string[] }
  | { type: 'boolean' }
  | { type: 'text' };

interface FieldSpec {
  key: EditConfigKey;
  label: string;
  kind: Kind;
  help?: string;
}

const num = (step?: number, min?: number, max?: number): Kind => ({ type: 'number', step, min, max });

const GROUPS: { title: string; fields: FieldSpec[] }[] = [
  {
    title: 'Loss weights',
    fields: [
      { key: 'lambdaComposition', label: 'Composition (λ comp)', kind: num(0.1, 0) },
      { key: 'lambdaScreen', label: 'Green screen (λ screen)', kind: num(0.1, 0) },
      { key: 'lambdaStructure', label: 'Structure (λ structure)', kind: num(0.1, 0) },
      { key: 'lambdaSparsity', label: 'Sparsity (λ sparsity)', kind: num(0.1, 0) },
      { key: 'lambdaAlphaL0', label: 'Alpha L0 (λ α L0)', kind: num(0.001, 0) },
      { key: 'lambdaAlphaL1', label: 'Alpha L1 (λ α L1)', kind: num(0.001, 0) },
      {
        key: 'textCriterion',
        label: 'Image–text criterion',
        kind: { type: 'select', options: ['spherical', 'cosine'] },
      },
    ],
  },
  {
    title: 'Bootstrapping (region of interest)',
    fields: [
      { key: 'lambdaBootstrap', label: 'Bootstrap weight (λ bootstrap)', kind: num(0.1, 0) },
      { key: 'lambdaBootstrapMin', label: 'Bootstrap weight minimum', kind: num(0.1, 0) },
      {
        key: 'bootstrapEpoch',
        label: 'Bootstrap steps',
        kind: num(1),
        help: 'Steps with the bootstrap loss; −1 = none. With a region of interest: the whole run.',
      },
      {
        key: 'bootstrapScheduler',
        label: 'Bootstrap schedule',
        kind: { type: 'select', options: ['linear', 'exponential', 'none'] },
      },
      { key: 'relevancyNumLayers', label: 'Relevancy from blocks after', kind: num(1, -1, 10) },
      { key: 'bootstrappingMinCover', label: 'Bootstrap crop cover', kind: num(0.05, 0, 1) },
    ],
  },
  {
    title: 'Optimizer',
    fields: [
      { key: 'optimizer', label: 'Optimizer', kind: { type: 'select', options: ['madgrad', 'adam'] } },
      { key: 'lr', label: 'Learning rate', kind: num(0.0001, 0) },
      { key: 'schedulerPolicy', label: 'LR schedule', kind: { type: 'select', options: ['exponential', 'none'] } },
      { key: 'gamma', label: 'LR decay (γ)', kind: num(0.001, 0, 1) },
      { key: 'minLr', label: 'Minimum learning rate', kind: num(0.000001, 0) },
      { key: 'momentum', label: 'Momentum', kind: num(0.01, 0, 1) },
      { key: 'weightDecay', label: 'Weight decay', kind: num(0.001, 0) },
      { key: 'optimizerEps', label: 'Epsilon', kind: num(0.000001, 0) },
      { key: 'nEpochs', label: 'Steps', kind: num(1, 1), help: 'Overrides the quality level.' },
    ],
  },
  {
    title: 'Images and augmentation',
    fields: [
      {
        key: 'resizeInput',
        label: 'Working size (short side, px)',
        kind: num(1, 0),
        help: 'Overrides the quality level.',
      },
      { key: 'nAug', label: 'CLIP views per term', kind: num(1, 1, 64), help: 'Overrides the quality level.' },
      { key: 'sourceImageEvery', label: 'Full image every … steps', kind: num(1, 1) },
      { key: 'cropsMinCover', label: 'Minimum crop cover', kind: num(0.01, 0, 1) },
      { key: 'scaleMin', label: 'Minimum rescale', kind: num(0.01, 0) },
      { key: 'scaleMax', label: 'Maximum rescale', kind: num(0.01, 0) },
      { key: 'flipP', label: 'Flip probability', kind: num(0.05, 0, 1) },
      { key: 'jitterP', label: 'Colour jitter probability', kind: num(0.05, 0, 1) },
      { key: 'clipAffineTransformFill', label: 'CLIP augmentation fill', kind: num(0.05, 0, 1) },
      { key: 'dDivisibleCrops', label: 'Crop divisible by', kind: num(1, 1) },
    ],
  },
  {
    title: 'Generator',
    fields: [
      { key: 'skipN33d', label: 'Down channels', kind: num(1, 1, 1024) },
      { key: 'skipN33u', label: 'Up channels', kind: num(1, 1, 1024) },
      { key: 'skipN11', label: 'Skip channels', kind: num(1, 0, 1024) },
      { key: 'numScales', label: 'Scales', kind: num(1, 1, 10) },
    ],
  },
];

export function AdvancedSettings() {
  const quality = useApp((s) => s.quality);
  const advanced = useApp((s) => s.advanced);
  const resetAdvanced = useApp((s) => s.resetAdvanced);
  const locked = useApp(runBusy);
  const defaults = levelDefaults(quality);
  const changed = Object.keys(advanced).length;
  return (
    <section className="card" aria-labelledby="advanced-heading">
      <details className="advanced">
        <summary>
          <h2 id="advanced-heading">Advanced settings</h2>
          {changed > 0 && <span className="badge off">{changed} changed</span>}
        </summary>
        <p className="help">
          The reference implementation’s settings (spec §A.1) at the chosen quality level. Changes apply at the next
          Start.
        </p>
        <fieldset disabled={locked} className="plain">
          <legend className="visually-hidden">Advanced settings</legend>
          {GROUPS.map((g) => (
            <fieldset key={g.title} className="group">
              <legend>{g.title}</legend>
              <div className="grid-fields">
                {g.fields.map((f) => (
                  <SettingField key={f.key} spec={f} defaults={defaults} />
                ))}
              </div>
            </fieldset>
          ))}
          <button type="button" onClick={resetAdvanced} disabled={changed === 0}>
            Reset to defaults
          </button>
        </fieldset>
      </details>
    </section>
  );
}

function SettingField({ spec, defaults }: { spec: FieldSpec; defaults: EditConfig }) {
  const id = useId();
  const override = useApp((s) => s.advanced[spec.key]);
  const setAdvanced = useApp((s) => s.setAdvanced);
  const value = (override ?? defaults[spec.key]) as EditConfig[EditConfigKey];
  const [draft, setDraft] = useState(String(value ?? ''));
  const [problem, setProblem] = useState<string | null>(null);
  const [shown, setShown] = useState(value);
  if (shown !== value) {
    // The value changed elsewhere (reset, another quality level): show it.
    setShown(value);
    setDraft(String(value ?? ''));
    setProblem(null);
  }

  const commit = (v: unknown) => {
    try {
      validateConfig({ [spec.key]: v });
      setProblem(null);
      const same = JSON.stringify(v) === JSON.stringify(defaults[spec.key]);
      setAdvanced(spec.key, (same ? undefined : v) as EditConfig[EditConfigKey] | undefined);
    } catch (e) {
      setProblem(e instanceof ConfigError ? `Expected ${e.issues[0]?.expected}.` : String(e));
    }
  };

  const helpId = `${id}-help`;
  const help = [spec.help, `Default ${formatDefault(defaults[spec.key])}.`].filter(Boolean).join(' ');
  const k = spec.kind;
  let control;
  if (k.type === 'boolean') {
    control = (
      <input
        id={id}
        type="checkbox"
        checked={Boolean(value)}
        aria-describedby={helpId}
        onChange={(e) => commit(e.currentTarget.checked)}
      />
    );
  } else if (k.type === 'select') {
    control = (
      <select id={id} value={String(value)} aria-describedby={helpId} onChange={(e) => commit(e.currentTarget.value)}>
        {k.options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  } else if (k.type === 'text') {
    control = (
      <input
        id={id}
        type="text"
        value={draft}
        aria-describedby={helpId}
        onChange={(e) => {
          setDraft(e.currentTarget.value);
          commit(e.currentTarget.value.trim() === '' ? null : e.currentTarget.value);
        }}
      />
    );
  } else {
    control = (
      <input
        id={id}
        type="number"
        inputMode="decimal"
        step={k.step ?? 'any'}
        min={k.min}
        max={k.max}
        value={draft}
        aria-invalid={problem ? true : undefined}
        aria-describedby={helpId}
        onChange={(e) => {
          const text = e.currentTarget.value;
          setDraft(text);
          if (text.trim() === '') return;
          const v = Number(text);
          if (Number.isFinite(v)) commit(v);
          else setProblem('Expected a number.');
        }}
      />
    );
  }
  return (
    <div className={`field${override !== undefined ? ' changed' : ''}`}>
      <label htmlFor={id}>{spec.label}</label>
      {control}
      <p className={problem ? 'help error-text' : 'help'} id={helpId}>
        {problem ?? help}
      </p>
    </div>
  );
}

function formatDefault(v: unknown): string {
  if (v === null) return 'none';
  if (typeof v === 'number') return String(v);
  return String(v);
}
