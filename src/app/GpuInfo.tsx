/** What WebGPU gave this page: adapter, software-fallback warning, key limits and features, or why there is none. */
import { useEffect, useState } from 'react';
import { acquireDevice, NoWebGpuError, type AdapterSummary } from '../gpu/device';

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

type LimitKey = (typeof KEY_LIMITS)[number]['key'];

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

type Unavailable = 'insecure-context' | 'no-api' | 'no-adapter' | 'no-device';

type GpuProbe =
  | { kind: 'checking' }
  | { kind: 'ready'; summary: AdapterSummary; limits: Record<LimitKey, number>; software: boolean }
  | { kind: 'unavailable'; reason: Unavailable; detail: string };

const SOFTWARE_NAMES = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render/i;

/** Acquires a device the way the editor will, records what it got, and gives the device back. */
async function probeWebGpu(): Promise<GpuProbe> {
  const gpu = typeof navigator === 'undefined' ? undefined : navigator.gpu;
  if (!gpu) {
    const insecure = typeof isSecureContext === 'boolean' && !isSecureContext;
    return {
      kind: 'unavailable',
      reason: insecure ? 'insecure-context' : 'no-api',
      detail: 'navigator.gpu is missing.',
    };
  }
  try {
    const ctx = await acquireDevice(gpu);
    const limits = {} as Record<LimitKey, number>;
    for (const { key } of KEY_LIMITS) limits[key] = Number(ctx.device.limits[key]);
    const s = ctx.summary;
    const software = s.isFallbackAdapter || SOFTWARE_NAMES.test(`${s.vendor} ${s.architecture} ${s.description}`);
    // The editor will open its own device in its worker; this page only looks.
    ctx.device.destroy();
    return { kind: 'ready', summary: s, limits, software };
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    return { kind: 'unavailable', reason: e instanceof NoWebGpuError ? 'no-adapter' : 'no-device', detail };
  }
}

/** 1073741824 → "1 GiB", 32768 → "32 KiB", 138412032 → "132 MiB". */
function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const digits = Number.isInteger(v) || i === 0 ? 0 : 1;
  return `${v.toFixed(digits)} ${units[i]}`;
}

const integer = new Intl.NumberFormat('en-US');

/** What the probe found, for the page around this panel (the editor hides itself without WebGPU). */
export type GpuProbeResult = { kind: 'ready'; software: boolean; name: string } | { kind: 'unavailable' };

export function GpuInfo({ onProbe }: { onProbe?: (result: GpuProbeResult) => void } = {}) {
  const [probe, setProbe] = useState<GpuProbe>({ kind: 'checking' });

  useEffect(() => {
    let live = true;
    void probeWebGpu().then((p) => {
      if (!live) return;
      setProbe(p);
      onProbe?.(
        p.kind === 'ready'
          ? {
              kind: 'ready',
              software: p.software,
              name: [p.summary.vendor, p.summary.architecture].filter(Boolean).join(' · ') || 'an unnamed adapter',
            }
          : { kind: 'unavailable' },
      );
    });
    return () => {
      live = false;
    };
    // The probe runs once; a new callback identity must not probe again.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  return (
    <section className="card" aria-labelledby="gpu-heading" aria-busy={probe.kind === 'checking'}>
      <h2 id="gpu-heading">Your GPU</h2>
      {probe.kind === 'checking' && <p role="status">Asking the browser for a WebGPU adapter…</p>}
      {probe.kind === 'ready' && <GpuDetails probe={probe} />}
      {probe.kind === 'unavailable' && <NoWebGpu reason={probe.reason} detail={probe.detail} />}
    </section>
  );
}

function GpuDetails({ probe }: { probe: Extract<GpuProbe, { kind: 'ready' }> }) {
  const { summary, limits, software } = probe;
  const name = [summary.vendor, summary.architecture].filter(Boolean).join(' · ') || 'an unnamed adapter';
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

const REASONS: Record<Unavailable, string> = {
  'insecure-context':
    'WebGPU only exists on secure pages. Open the app over https:// or from localhost (http://localhost or http://127.0.0.1).',
  'no-api': 'This browser does not offer WebGPU (navigator.gpu is missing), or it is turned off.',
  'no-adapter':
    'This browser has WebGPU, but it offered no GPU adapter. The GPU or its driver may be blocklisted, or hardware acceleration may be turned off (in Chrome: Settings → System → “Use graphics acceleration when available”; chrome://gpu shows details).',
  'no-device':
    'The browser found a GPU adapter but could not open a device on it. Closing other GPU-heavy tabs or restarting the browser may help.',
};

function NoWebGpu({ reason, detail }: { reason: Unavailable; detail: string }) {
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
