/** What WebGPU gave this page: adapter, software-fallback warning, key limits and features, or why there is none. */
import type { AdapterSummary } from '../gpu/device';
import { formatBytes } from '../gpu/formatBytes';
import type { GpuAvailability, GpuUnavailableReason } from '../worker/protocol';

const KEY_LIMITS = [
  {
    key: 'maxBufferSize',
    unit: 'bytes',
    meaning: 'Largest single GPU buffer.',
  },
  {
    key: 'maxStorageBufferBindingSize',
    unit: 'bytes',
    meaning: 'Largest tensor one kernel can bind (a 512² activation with 132 channels needs about 138 MB).',
  },
  {
    key: 'maxComputeWorkgroupStorageSize',
    unit: 'bytes',
    meaning: 'Shared memory per workgroup, used by the tiled convolution and matrix kernels.',
  },
  {
    key: 'maxComputeInvocationsPerWorkgroup',
    unit: 'count',
    meaning: 'Threads per workgroup.',
  },
] as const;

const HIGHLIGHTED_FEATURES = [
  {
    name: 'shader-f16',
    present: 'Half-precision tensors: half the memory and bandwidth.',
    absent: 'Not available: tensors are stored in 32-bit floats.',
  },
  {
    name: 'timestamp-query',
    present: 'GPU-side timings for the benchmark.',
    absent: 'Not available: timings come from the CPU clock.',
  },
] as const;

const integer = new Intl.NumberFormat('en-US');

/**
 * The panel reads what the worker found when it opened its device (`gpu` events): the page never opens a GPU
 * device of its own.
 */
export function GpuInfo({ availability }: { availability: GpuAvailability | null }) {
  return (
    <section className="card" aria-labelledby="gpu-heading" aria-busy={availability === null}>
      <h2 id="gpu-heading">Your GPU</h2>
      {availability === null && <p role="status">Asking the browser for a WebGPU adapter…</p>}
      {availability?.kind === 'ready' && <GpuDetails probe={availability} />}
      {availability?.kind === 'unavailable' && <NoWebGpu reason={availability.reason} detail={availability.detail} />}
    </section>
  );
}

/** "google · swiftshader": how the panel names an adapter. */
export function adapterName(summary: AdapterSummary): string {
  return [summary.vendor, summary.architecture].filter(Boolean).join(' · ') || 'an unnamed adapter';
}

function GpuDetails({ probe }: { probe: Extract<GpuAvailability, { kind: 'ready' }> }) {
  const { summary, limits, software } = probe;
  const name = adapterName(summary);
  const features = new Set(summary.features);
  const notReported = <span className="muted">not reported by the browser</span>;
  return (
    <>
      <p className="lead">
        <span className="badge ok">WebGPU ready</span> The generator would train on <strong>{name}</strong>.
      </p>
      {software && (
        <div className="callout warning" role="note" aria-labelledby="software-heading">
          <h3 id="software-heading">Software adapter: training will be very slow</h3>
          <p>
            The browser offered a fallback adapter that emulates a GPU on the CPU. Everything works, but an edit that
            takes minutes on a real GPU can take many hours here. Use a browser with hardware acceleration turned on, on
            a machine with a GPU.
          </p>
        </div>
      )}

      <h3 id="adapter-heading">Adapter</h3>
      <dl className="facts" aria-labelledby="adapter-heading">
        <dt>Vendor</dt>
        <dd>{summary.vendor || notReported}</dd>
        <dt>Architecture</dt>
        <dd>{summary.architecture || notReported}</dd>
        <dt>Device</dt>
        <dd>{summary.device || notReported}</dd>
        <dt>Description</dt>
        <dd>{summary.description || notReported}</dd>
        <dt>Fallback (software) adapter</dt>
        <dd>{software ? 'Yes' : 'No'}</dd>
      </dl>

      <h3 id="limits-heading">Key limits</h3>
      <table className="limits" aria-labelledby="limits-heading">
        <thead>
          <tr>
            <th scope="col">Limit</th>
            <th scope="col">Value</th>
            <th scope="col">What it bounds</th>
          </tr>
        </thead>
        <tbody>
          {KEY_LIMITS.map(({ key, unit, meaning }) => (
            <tr key={key}>
              <th scope="row">
                <code>{key}</code>
              </th>
              <td className="num" title={`${integer.format(limits[key])}${unit === 'bytes' ? ' bytes' : ''}`}>
                {unit === 'bytes' ? formatBytes(limits[key]) : integer.format(limits[key])}
              </td>
              <td>{meaning}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h3 id="features-heading">Features</h3>
      <ul className="key-features" aria-labelledby="features-heading">
        {HIGHLIGHTED_FEATURES.map((f) => {
          const has = features.has(f.name);
          return (
            <li key={f.name} className={has ? 'has' : 'lacks'}>
              <code>{f.name}</code> <span className={`badge ${has ? 'ok' : 'off'}`}>{has ? 'yes' : 'no'}</span>{' '}
              <span>{has ? f.present : f.absent}</span>
            </li>
          );
        })}
      </ul>
      <details className="all-features">
        <summary>All {summary.features.length} features</summary>
        <ul className="chips">
          {summary.features.map((f) => (
            <li key={f}>
              <code>{f}</code>
            </li>
          ))}
        </ul>
      </details>
    </>
  );
}

const REASONS: Record<GpuUnavailableReason, string> = {
  'insecure-context':
    'WebGPU only exists on secure pages. Open the app over https:// or from localhost (http://localhost or http://127.0.0.1).',
  'no-api': 'This browser does not offer WebGPU (navigator.gpu is missing), or it is turned off.',
  'no-adapter':
    'This browser has WebGPU, but it offered no GPU adapter. The GPU or its driver may be blocklisted, or hardware acceleration may be turned off (in Chrome: Settings → System → “Use graphics acceleration when available”; chrome://gpu shows details).',
  'no-device':
    'The browser found a GPU adapter but could not open a device on it. Closing other GPU-heavy tabs or restarting the browser may help.',
};

function NoWebGpu({ reason, detail }: { reason: GpuUnavailableReason; detail: string }) {
  return (
    <div className="unavailable" role="alert" aria-labelledby="nogpu-heading">
      <h3 id="nogpu-heading">WebGPU is not available here</h3>
      <p>{REASONS[reason]}</p>
      {reason === 'no-device' && (
        <p className="muted">
          The browser said: <q>{detail}</q>
        </p>
      )}
      <p>
        <strong>Why it is needed:</strong> the editor trains a small generator for your photo and prompt on your own
        GPU, through WebGPU compute shaders. Nothing is uploaded and there is no server to fall back to, so without
        WebGPU the editor cannot run.
      </p>
      <h4>Browsers that work</h4>
      <ul>
        <li>Chrome or Edge 113 or newer on Windows, macOS and ChromeOS</li>
        <li>Chrome 121 or newer on Android</li>
        <li>Firefox 141 or newer on Windows</li>
        <li>Safari 26 or newer</li>
        <li>
          Chrome on Linux: turn on <code>chrome://flags/#enable-unsafe-webgpu</code> (and{' '}
          <code>chrome://flags/#enable-vulkan</code>), then restart the browser
        </li>
      </ul>
    </div>
  );
}
