/** A small live SVG chart of the losses (total and the main terms) over the steps. */
import { useApp, type LossPoint } from '../store';
import { formatLoss } from './format';

const SERIES: { key: keyof Omit<LossPoint, 'step'>; label: string; className: string }[] = [
  { key: 'total', label: 'Total', className: 'series-total' },
  { key: 'composition', label: 'Composition', className: 'series-comp' },
  { key: 'screen', label: 'Screen', className: 'series-screen' },
  { key: 'structure', label: 'Structure', className: 'series-structure' },
];

const W = 320;
const H = 120;
const PAD = 4;

/** At most ~300 points per series (every k-th point, always the last). */
function thin(points: LossPoint[]): LossPoint[] {
  if (points.length <= 300) return points;
  const k = Math.ceil(points.length / 300);
  const out = points.filter((_, i) => i % k === 0);
  if (out[out.length - 1] !== points[points.length - 1]) out.push(points[points.length - 1]);
  return out;
}

export function LossChart() {
  const losses = useApp((s) => s.losses);
  const total = useApp((s) => s.run.totalSteps);
  const last = losses[losses.length - 1];
  const points = thin(losses);
  const maxStep = Math.max(total, last?.step ?? 1, 1);
  const values = points.flatMap((p) => SERIES.map((s) => p[s.key])).filter(Number.isFinite);
  const lo = values.length ? Math.min(...values) : 0;
  const hi = values.length ? Math.max(...values) : 1;
  // The terms differ by orders of magnitude: a log scale when every value is positive.
  const log = lo > 0;
  const f = (v: number) => (log ? Math.log10(v) : v);
  const span = f(hi) - f(lo) || 1;
  const x = (step: number) => PAD + ((W - 2 * PAD) * step) / maxStep;
  const y = (v: number) => H - PAD - ((H - 2 * PAD) * (f(v) - f(lo))) / span;
  const summary = last
    ? `Loss chart: total loss ${formatLoss(last.total)} at step ${last.step}` +
      (losses.length > 1 ? `, from ${formatLoss(losses[0].total)} at step ${losses[0].step}.` : '.')
    : 'Loss chart: no steps yet.';
  return (
    <figure className="loss-chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary} preserveAspectRatio="none">
        <title>{summary}</title>
        <rect x="0" y="0" width={W} height={H} className="chart-bg" />
        {points.length > 1 &&
          SERIES.map((s) => (
            <polyline
              key={s.key}
              className={s.className}
              fill="none"
              vectorEffect="non-scaling-stroke"
              points={points
                .filter((p) => Number.isFinite(p[s.key]) && (!log || p[s.key] > 0))
                .map((p) => `${x(p.step).toFixed(1)},${y(p[s.key]).toFixed(1)}`)
                .join(' ')}
            />
          ))}
      </svg>
      <figcaption className="small">
        <ul className="legend">
          {SERIES.map((s) => (
            <li key={s.key}>
              <span className={`swatch ${s.className}`} aria-hidden="true" /> {s.label}
              {last ? `: ${formatLoss(last[s.key])}` : ''}
            </li>
          ))}
        </ul>
        {values.length > 0 && (
          <span className="muted">
            Range {formatLoss(lo)} – {formatLoss(hi)}
            {log ? ', log scale' : ''}
          </span>
        )}
      </figcaption>
    </figure>
  );
}
