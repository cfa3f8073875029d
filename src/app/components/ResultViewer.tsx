/**
 * The live result: composite, edit layer over a checkerboard, alpha, green screen, or the input; a before/after
 * comparison (the input left of the divider, the chosen view right of it, Squoosh-style); zoom and pan with the
 * pointer, the wheel, the buttons or the keyboard.
 */
import { useCallback, useEffect, useId, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import { useApp, type ViewKind } from '../store';

const VIEWS: { kind: ViewKind; label: string }[] = [
  { kind: 'composite', label: 'Composite' },
  { kind: 'edit', label: 'Edit layer' },
  { kind: 'alpha', label: 'Alpha' },
  { kind: 'greenscreen', label: 'Green screen' },
  { kind: 'input', label: 'Input' },
];

const MIN_ZOOM = 1;
const MAX_ZOOM = 16;

interface Transform {
  zoom: number;
  panX: number;
  panY: number;
}

let checkerPattern: { ctx: CanvasRenderingContext2D; pattern: CanvasPattern | null } | null = null;

function checkerboard(ctx: CanvasRenderingContext2D, size: number): CanvasPattern | null {
  if (checkerPattern?.ctx === ctx) return checkerPattern.pattern;
  const tile = new OffscreenCanvas(size * 2, size * 2);
  const t = tile.getContext('2d')!;
  t.fillStyle = '#d9d9d9';
  t.fillRect(0, 0, size * 2, size * 2);
  t.fillStyle = '#ffffff';
  t.fillRect(0, 0, size, size);
  t.fillRect(size, size, size, size);
  const pattern = ctx.createPattern(tile, 'repeat');
  checkerPattern = { ctx, pattern };
  return pattern;
}

export function ResultViewer() {
  const preview = useApp((s) => s.preview);
  const input = useApp((s) => s.input);
  const view = useApp((s) => s.view);
  const setView = useApp((s) => s.setView);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const boxRef = useRef<HTMLDivElement>(null);
  const [boxWidth, setBoxWidth] = useState(0);
  const [compare, setCompare] = useState(false);
  const [split, setSplit] = useState(50);
  const [t, setT] = useState<Transform>({ zoom: 1, panX: 0, panY: 0 });
  const drag = useRef<{ mode: 'pan' | 'split'; x: number; y: number; t: Transform } | null>(null);
  const helpId = useId();
  const splitId = useId();

  const bitmap = view === 'input' ? (input?.bitmap ?? null) : (preview?.images[view] ?? null);
  const before = compare && view !== 'input' ? (input?.bitmap ?? null) : null;
  // The frame keeps the photo's aspect ratio (previews are the working size of the same photo).
  const aspectW = input?.width ?? preview?.width ?? 4;
  const aspectH = input?.height ?? preview?.height ?? 3;

  useEffect(() => {
    const box = boxRef.current;
    if (!box) return;
    const ro = new ResizeObserver((entries) => setBoxWidth(entries[0].contentRect.width));
    ro.observe(box);
    return () => ro.disconnect();
  }, []);

  const cssW = Math.max(1, Math.round(boxWidth));
  const cssH = Math.max(1, Math.round(Math.min((cssW * aspectH) / aspectW, 640)));

  const fitScale = useCallback((iw: number, ih: number) => Math.min(cssW / iw, cssH / ih), [cssW, cssH]);

  // Draw.
  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    if (!bitmap) return;
    const s = fitScale(aspectW, aspectH) * t.zoom;
    const dw = aspectW * s;
    const dh = aspectH * s;
    const dx = (cssW - dw) / 2 + t.panX;
    const dy = (cssH - dh) / 2 + t.panY;
    // Smooth at the fitted size; show the pixels as they are when zoomed in.
    ctx.imageSmoothingEnabled = t.zoom < 2;
    ctx.imageSmoothingQuality = 'high';
    if (view === 'edit') {
      ctx.fillStyle = checkerboard(ctx, 8) ?? '#ccc';
      ctx.fillRect(dx, dy, dw, dh);
    }
    ctx.drawImage(bitmap, dx, dy, dw, dh);
    if (before) {
      const sx = (cssW * split) / 100;
      ctx.save();
      ctx.beginPath();
      ctx.rect(0, 0, sx, cssH);
      ctx.clip();
      ctx.clearRect(0, 0, sx, cssH);
      ctx.drawImage(before, dx, dy, dw, dh);
      ctx.restore();
      ctx.fillStyle = '#fff';
      ctx.fillRect(sx - 1, 0, 2, cssH);
      ctx.beginPath();
      ctx.arc(sx, cssH / 2, 10, 0, 2 * Math.PI);
      ctx.fill();
      ctx.strokeStyle = '#333';
      ctx.lineWidth = 1;
      ctx.stroke();
    }
  }, [bitmap, before, view, cssW, cssH, t, split, aspectW, aspectH, fitScale]);

  const zoomAt = (factor: number, px = cssW / 2, py = cssH / 2) => {
    setT((cur) => {
      const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, cur.zoom * factor));
      if (zoom === MIN_ZOOM) return { zoom, panX: 0, panY: 0 };
      const r = zoom / cur.zoom;
      const cx = cssW / 2;
      const cy = cssH / 2;
      return { zoom, panX: px - cx - (px - cx - cur.panX) * r, panY: py - cy - (py - cy - cur.panY) * r };
    });
  };

  // Wheel zoom needs a non-passive listener.
  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const rect = canvas.getBoundingClientRect();
      zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - rect.left, e.clientY - rect.top);
    };
    canvas.addEventListener('wheel', onWheel, { passive: false });
    return () => canvas.removeEventListener('wheel', onWheel);
  });

  const onPointerDown = (e: PointerEvent<HTMLCanvasElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const nearSplit = before !== null && Math.abs(x - (cssW * split) / 100) < 16;
    drag.current = { mode: nearSplit ? 'split' : 'pan', x: e.clientX, y: e.clientY, t };
    e.currentTarget.setPointerCapture(e.pointerId);
    if (nearSplit) setSplit(Math.min(100, Math.max(0, (100 * x) / cssW)));
  };
  const onPointerMove = (e: PointerEvent<HTMLCanvasElement>) => {
    const d = drag.current;
    if (!d) return;
    if (d.mode === 'split') {
      const rect = e.currentTarget.getBoundingClientRect();
      setSplit(Math.min(100, Math.max(0, (100 * (e.clientX - rect.left)) / cssW)));
    } else if (d.t.zoom > 1) {
      setT({ ...d.t, panX: d.t.panX + e.clientX - d.x, panY: d.t.panY + e.clientY - d.y });
    }
  };
  const onPointerUp = () => {
    drag.current = null;
  };

  const onKeyDown = (e: KeyboardEvent<HTMLCanvasElement>) => {
    const step = 40;
    const pan = (dx: number, dy: number) =>
      setT((c) => (c.zoom > 1 ? { ...c, panX: c.panX + dx, panY: c.panY + dy } : c));
    switch (e.key) {
      case '+':
      case '=':
        zoomAt(1.25);
        break;
      case '-':
      case '_':
        zoomAt(0.8);
        break;
      case '0':
        setT({ zoom: 1, panX: 0, panY: 0 });
        break;
      case 'ArrowLeft':
        pan(step, 0);
        break;
      case 'ArrowRight':
        pan(-step, 0);
        break;
      case 'ArrowUp':
        pan(0, step);
        break;
      case 'ArrowDown':
        pan(0, -step);
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  const viewLabel = VIEWS.find((v) => v.kind === view)?.label ?? view;
  const described =
    view === 'input'
      ? input
        ? `The input photo, ${input.width}×${input.height} px`
        : 'No photo yet'
      : preview
        ? `${viewLabel} after ${preview.step} steps, ${preview.width}×${preview.height} px`
        : `${viewLabel}: no result yet`;

  return (
    <section className="card viewer" aria-labelledby="viewer-heading">
      <h2 id="viewer-heading">Result</h2>
      <fieldset className="segmented">
        <legend className="visually-hidden">View</legend>
        {VIEWS.map((v) => (
          <label key={v.kind} className={view === v.kind ? 'on' : undefined}>
            <input type="radio" name="view" value={v.kind} checked={view === v.kind} onChange={() => setView(v.kind)} />
            {v.label}
          </label>
        ))}
      </fieldset>
      <div className="canvas-box" ref={boxRef}>
        <canvas
          ref={canvasRef}
          className="result-canvas"
          style={{ width: cssW, height: cssH, cursor: t.zoom > 1 ? 'grab' : before ? 'ew-resize' : 'default' }}
          tabIndex={0}
          role="img"
          aria-label={described + (before ? `; the input is shown left of the divider at ${Math.round(split)}%` : '')}
          aria-describedby={helpId}
          data-testid="result-canvas"
          data-view={view}
          data-step={view === 'input' ? '' : (preview?.step ?? '')}
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={onPointerUp}
          onPointerCancel={onPointerUp}
          onKeyDown={onKeyDown}
          onDoubleClick={() => setT({ zoom: 1, panX: 0, panY: 0 })}
        />
        {!bitmap && (
          <p className="canvas-empty muted">
            {view === 'input' ? 'Add a photo to see it here.' : 'The result appears here once training starts.'}
          </p>
        )}
      </div>
      <p className="visually-hidden" id={helpId}>
        Keys: plus and minus zoom, 0 fits the image, arrow keys pan when zoomed in.
      </p>
      <div className="viewer-tools">
        <span role="group" aria-label="Zoom">
          <button type="button" onClick={() => zoomAt(0.8)} disabled={t.zoom <= MIN_ZOOM} aria-label="Zoom out">
            −
          </button>
          <output aria-label="Zoom level" className="zoom-level">
            {Math.round(t.zoom * 100)}%
          </output>
          <button type="button" onClick={() => zoomAt(1.25)} disabled={t.zoom >= MAX_ZOOM} aria-label="Zoom in">
            +
          </button>
          <button type="button" onClick={() => setT({ zoom: 1, panX: 0, panY: 0 })} disabled={t.zoom === 1}>
            Fit
          </button>
        </span>
        <label className="inline">
          <input
            type="checkbox"
            checked={compare}
            onChange={(e) => setCompare(e.currentTarget.checked)}
            disabled={view === 'input'}
          />{' '}
          Before/after
        </label>
        {compare && view !== 'input' && (
          <span className="inline">
            <label htmlFor={splitId}>Divider</label>{' '}
            <input
              id={splitId}
              type="range"
              min={0}
              max={100}
              step={1}
              value={Math.round(split)}
              aria-valuetext={`${Math.round(split)}% input`}
              onChange={(e) => setSplit(Number(e.currentTarget.value))}
            />
          </span>
        )}
      </div>
    </section>
  );
}
