/**
 * The rendered edit, played in the page: every frame of the clip (from the worker's `videoFrame` events) drawn on a
 * canvas at the clip's frame rate with requestAnimationFrame. Play / pause, loop, a scrubber, one frame back or on,
 * before / after (the input frames against the chosen view) and the view: composite, edit layer, alpha, green
 * screen or input.
 */
import { useEffect, useId, useRef } from 'react';
import type { VideoFrameView } from '../../worker/protocol';
import { runBusy, useApp } from '../store';
import { drawBitmap } from './BitmapCanvas';

const VIEWS: { kind: VideoFrameView; label: string }[] = [
  { kind: 'composite', label: 'Composite' },
  { kind: 'edit', label: 'Edit layer' },
  { kind: 'alpha', label: 'Alpha' },
  { kind: 'greenscreen', label: 'Green screen' },
  { kind: 'input', label: 'Input' },
];

/** Advances the player at `fps` while it plays (the store holds the frame, so the scrubber follows). */
function usePlayback(playing: boolean, fps: number, frames: number, loop: boolean): void {
  useEffect(() => {
    if (!playing || frames === 0 || !(fps > 0)) return;
    const { setPlayerFrame, setPlaying } = useApp.getState();
    let raf = 0;
    let startTime: number | null = null;
    const startFrame = useApp.getState().player.current;
    const tick = (now: number) => {
      startTime ??= now;
      const advanced = Math.floor(((now - startTime) / 1000) * fps);
      let frame = startFrame + advanced;
      if (frame >= frames) {
        if (!loop) {
          setPlayerFrame(frames - 1);
          setPlaying(false);
          return;
        }
        frame %= frames;
      }
      setPlayerFrame(frame);
      raf = requestAnimationFrame(tick);
    };
    raf = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(raf);
  }, [playing, fps, frames, loop]);
}

export function VideoPlayer() {
  const player = useApp((s) => s.player);
  const info = useApp((s) => s.videoRun.info);
  const busy = useApp(runBusy);
  const setFrame = useApp((s) => s.setPlayerFrame);
  const stepPlayer = useApp((s) => s.stepPlayer);
  const setPlaying = useApp((s) => s.setPlaying);
  const setLoop = useApp((s) => s.setLoop);
  const setView = useApp((s) => s.setPlayerView);
  const setBefore = useApp((s) => s.setBefore);
  const renderVideo = useApp((s) => s.renderVideo);
  const ref = useRef<HTMLCanvasElement>(null);
  const scrubId = useId();
  const viewId = useId();
  const n = player.frames.length;
  const fps = info?.frameRate ?? 0;
  const shown = player.before ? 'input' : player.view;
  const bitmap = player.frames[player.current]?.[shown] ?? null;
  const received = player.frameSteps.filter((s) => s !== null && s === player.renderStep).length;

  usePlayback(player.playing, fps, n, player.loop);

  useEffect(() => {
    if (ref.current && bitmap) drawBitmap(ref.current, bitmap);
  }, [bitmap]);

  const viewLabel = VIEWS.find((v) => v.kind === shown)?.label ?? shown;
  return (
    <section className="card" aria-labelledby="player-heading">
      <h2 id="player-heading">The edited video</h2>
      {!info && <p className="muted small">The edited clip plays here once an edit has run.</p>}
      {info && (
        <>
          <div className="canvas-box player-box">
            <canvas
              ref={ref}
              className={`result-canvas player-canvas${shown === 'edit' ? ' checker' : ''}`}
              data-testid="player-canvas"
              data-ready={player.ready ? 'true' : 'false'}
              data-frame={player.current}
              data-playing={player.playing ? 'true' : 'false'}
              data-view={shown}
              data-step={player.renderStep ?? ''}
              role="img"
              aria-label={`${viewLabel}, frame ${player.current + 1} of ${n}`}
            />
            {!bitmap && (
              <p className="canvas-empty muted small">
                {player.rendering ? 'Rendering the frames…' : 'Not rendered yet.'}
              </p>
            )}
          </div>
          <p className="small muted" role="status" data-testid="player-status">
            {player.rendering
              ? `Rendering: ${received} of ${n} frames.`
              : player.ready
                ? `${n} frames at step ${player.renderStep}, ${fps.toFixed(fps % 1 ? 2 : 0)} frames per second.`
                : ''}
          </p>
          <div className="viewer-tools">
            <div role="group" aria-label="Playback">
              <button
                type="button"
                onClick={() => setPlaying(!player.playing)}
                disabled={n === 0}
                aria-pressed={player.playing}
                data-testid="player-play"
              >
                {player.playing ? 'Pause' : 'Play'}
              </button>
              <button type="button" onClick={() => stepPlayer(-1)} disabled={n === 0} aria-label="Previous frame">
                ◀ 1
              </button>
              <button type="button" onClick={() => stepPlayer(1)} disabled={n === 0} aria-label="Next frame">
                1 ▶
              </button>
              <label className="inline">
                <input type="checkbox" checked={player.loop} onChange={(e) => setLoop(e.currentTarget.checked)} /> Loop
              </label>
            </div>
            <div className="field inline-field player-scrub">
              <label htmlFor={scrubId}>Frame</label>
              <input
                id={scrubId}
                type="range"
                min={0}
                max={Math.max(0, n - 1)}
                value={player.current}
                disabled={n === 0}
                data-testid="player-frame"
                onChange={(e) => {
                  setPlaying(false);
                  setFrame(Number(e.currentTarget.value));
                }}
              />
              <output htmlFor={scrubId}>
                {n > 0 ? player.current + 1 : 0} / {n}
              </output>
            </div>
            <div className="field inline-field">
              <label htmlFor={viewId}>View</label>
              <select
                id={viewId}
                value={player.view}
                data-testid="player-view"
                onChange={(e) => setView(e.currentTarget.value as VideoFrameView)}
              >
                {VIEWS.map((v) => (
                  <option key={v.kind} value={v.kind}>
                    {v.label}
                  </option>
                ))}
              </select>
            </div>
            <label className="inline">
              <input
                type="checkbox"
                checked={player.before}
                onChange={(e) => setBefore(e.currentTarget.checked)}
                data-testid="player-before"
              />{' '}
              Before (the input)
            </label>
            {!player.ready && !player.rendering && (
              <button type="button" onClick={renderVideo} disabled={busy} data-testid="player-render">
                Render all frames
              </button>
            )}
          </div>
        </>
      )}
    </section>
  );
}
