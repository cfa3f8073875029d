/**
 * The run slice: the worker's run state and progress, the loss history for the chart, the latest preview, the
 * downloads, and the step times measured per quality level (the estimates). Actions send commands to the worker;
 * the run state itself only ever comes from the worker's `state` events.
 */
import { ConfigError } from '../../edit/config';
import { RUN_ACTIVE } from '../../worker/runState';
import type { EditEvent } from '../../worker/protocol';
import type { AppState, Preview, RunInfo, RunSlice, Slice, SliceContext } from './types';

export const INITIAL_RUN: RunInfo = {
  state: 'idle',
  requested: null,
  activity: null,
  step: 0,
  totalSteps: 0,
  stepsPerSecond: 0,
  etaSeconds: null,
  elapsedSeconds: 0,
  workingSize: null,
  fullSize: null,
  seed: null,
  quality: null,
  config: null,
  fullResolutionExport: false,
};

/** A run is going on or being set up: the form is locked and Start is not offered. */
export function runBusy(s: Pick<AppState, 'run'>): boolean {
  return (
    s.run.requested !== null || RUN_ACTIVE.has(s.run.state) || ['loadingModel', 'recovering'].includes(s.run.state)
  );
}

function closePreview(p: Preview | null): void {
  if (!p) return;
  for (const b of Object.values(p.images)) b.close();
}

function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function createRunSlice({ set, get, client }: SliceContext): Slice<RunSlice> {
  const configError = (message: string) => set({ error: { kind: 'config', message, recoverable: true } });

  const state: RunSlice = {
    run: INITIAL_RUN,
    losses: [],
    lossesBefore: [],
    preview: null,
    exporting: [],
    lastExport: null,
    timings: {},
    debugMemory: null,

    async start() {
      const s = get();
      if (runBusy(s)) return;
      if (!s.input) {
        set({ error: { kind: 'image', message: 'Add a photo first.', recoverable: true } });
        return;
      }
      if (!s.prompts.edit.trim()) {
        configError('Describe the edit layer first (for example “fire”).');
        return;
      }
      let config;
      try {
        config = s.resolvedConfig();
      } catch (e) {
        configError(e instanceof ConfigError ? e.message : String(e));
        return;
      }
      // The chart starts empty; the previous one comes back if the worker has to bring that edit back.
      set((st) => ({
        error: null,
        losses: [],
        lossesBefore: st.losses,
        run: { ...st.run, requested: 'start', activity: 'Setting up the edit…' },
      }));
      if (get().model.state !== 'ready') void get().persistStorage();
      // A copy of the bitmap goes to the worker, which reads its pixels there.
      const image = await createImageBitmap(s.input.bitmap);
      client().send({ type: 'start', model: get().modelSpec(), image, config, quality: s.quality });
    },

    pause() {
      client().send({ type: 'pause' });
    },

    resume() {
      client().send({ type: 'resume' });
    },

    stop() {
      client().send({ type: 'stop' });
    },

    exportResult(kind, fullSize) {
      set((s) => ({ exporting: [...s.exporting.filter((k) => k !== kind), kind] }));
      client().send({ type: 'export', kind, fullSize: fullSize ?? get().fullSizeDownloads ?? undefined });
    },

    async openSession(file) {
      if (runBusy(get())) {
        set({
          error: { kind: 'session', message: 'Stop the running edit before opening a session.', recoverable: true },
        });
        return;
      }
      const bytes = new Uint8Array(await file.arrayBuffer());
      if (bytes.byteLength === 0) {
        set({ error: { kind: 'session', message: `“${file.name}” is empty.`, recoverable: true } });
        return;
      }
      const input = get().input;
      set((st) => ({
        error: null,
        losses: [],
        lossesBefore: st.losses,
        run: { ...st.run, requested: 'openSession', activity: 'Opening the session…' },
      }));
      const image = input ? await createImageBitmap(input.bitmap) : undefined;
      client().send({ type: 'openSession', model: get().modelSpec(), bytes, image });
    },

    simulateDeviceLoss() {
      client().send({ type: 'simulateDeviceLoss' });
    },

    simulateMemoryLimit(bytes) {
      client().send({ type: 'simulateMemoryLimit', bytes });
    },
  };

  return { state, onEvent: (ev) => onRunEvent(ev, set, get) };
}

function onRunEvent(ev: EditEvent, set: SliceContext['set'], get: SliceContext['get']): void {
  const notice = (tone: 'info' | 'warning' | 'success', text: string) => get().addNotice(tone, text);
  switch (ev.type) {
    case 'state':
      set((s) => ({
        run: {
          ...s.run,
          state: ev.state,
          requested: null,
          step: ev.totalSteps > 0 ? ev.step : s.run.step,
          totalSteps: ev.totalSteps > 0 ? ev.totalSteps : s.run.totalSteps,
          activity: ['training', 'paused', 'stopped', 'done', 'idle', 'failed'].includes(ev.state)
            ? null
            : s.run.activity,
          etaSeconds: ev.state === 'training' || ev.state === 'pausing' ? s.run.etaSeconds : null,
        },
        // No edit any more: nothing to show or download.
        ...(ev.state === 'idle' && ev.from !== 'loadingModel' ? { preview: null, losses: [] } : {}),
      }));
      if (ev.state === 'idle' && ev.from !== 'loadingModel') closePreview(get().preview);
      if (ev.state === 'done' && ['training', 'pausing', 'stopping'].includes(ev.from)) {
        notice('success', `Finished: ${ev.step} steps. Download the results below.`);
      }
      return;
    case 'busy':
      set((s) => ({ run: { ...s.run, activity: ev.message } }));
      return;
    case 'modelProgress':
      set((s) => ({ run: s.run.requested || s.run.state === 'loadingModel' ? { ...s.run, activity: null } : s.run }));
      return;
    case 'started':
      set((s) => ({
        run: {
          ...s.run,
          step: ev.step,
          totalSteps: ev.totalSteps,
          workingSize: ev.workingSize,
          fullSize: ev.fullSize,
          seed: ev.seed,
          quality: ev.quality,
          config: ev.config,
          fullResolutionExport: ev.fullResolutionExport,
          stepsPerSecond: 0,
          etaSeconds: null,
        },
      }));
      return;
    case 'progress': {
      const r = ev.report;
      set((s) => {
        const level = s.run.quality;
        // A video edit's step times are the video edit slice's (another kind of step).
        const timings =
          level && s.run.config && s.input && !s.videoRun.info && ev.timing.cropSeconds !== null
            ? {
                ...s.timings,
                [level]: {
                  timing: ev.timing,
                  config: s.run.config,
                  width: s.input.width,
                  height: s.input.height,
                  modelId: s.model.id,
                },
              }
            : s.timings;
        return {
          losses: [...s.losses.filter((p) => p.step < r.step), { step: r.step, ...r.losses }],
          timings,
          run: {
            ...s.run,
            activity: null,
            step: r.step,
            totalSteps: r.totalSteps,
            stepsPerSecond: ev.stepsPerSecond,
            etaSeconds: ev.etaSeconds,
            elapsedSeconds: ev.elapsedSeconds,
          },
        };
      });
      return;
    }
    case 'preview': {
      // A video edit's preview (a frame and the atlas) is the video edit slice's.
      if (ev.frame !== undefined) return;
      const old = get().preview;
      set((s) => ({
        preview: { step: ev.step, width: ev.width, height: ev.height, images: ev.images },
        view: s.view === 'input' && !old ? 'composite' : s.view,
      }));
      if (old) queueMicrotask(() => closePreview(old));
      return;
    }
    case 'deviceLost':
      set((s) => ({ run: { ...s.run, activity: 'The GPU device was lost; reopening it…' } }));
      notice(
        'warning',
        `The GPU device was lost (${ev.message.replace(/^The GPU device was lost \((.*)\)\.$/, '$1')}). Continuing from the checkpoint at step ${ev.fromStep} on a new device…`,
      );
      return;
    case 'recovered':
      set((s) => ({ run: { ...s.run, activity: null, step: ev.step } }));
      notice(
        'info',
        `Recovered on a new GPU device at step ${ev.step}` +
          (ev.lostSteps > 0 ? ` (${ev.lostSteps} step${ev.lostSteps === 1 ? '' : 's'} redone).` : '.'),
      );
      return;
    case 'kept':
      set((s) => ({
        run: { ...s.run, activity: null, step: ev.step, totalSteps: ev.totalSteps },
        // The worker keeps no loss history: the page's own record of that edit comes back.
        losses: ev.previous ? s.lossesBefore : s.losses.filter((p) => p.step <= ev.step),
      }));
      notice(
        'info',
        `${ev.previous ? 'Your previous edit is back' : 'Your edit is kept'} at step ${ev.step} of ${ev.totalSteps}: ` +
          'its preview and downloads are as they were.',
      );
      return;
    case 'memoryLimit':
      set({ debugMemory: { limitBytes: ev.limitBytes, usedBytes: ev.usedBytes, peakBytes: ev.peakBytes } });
      return;
    case 'sessionOpened':
      notice('info', `Session opened at step ${ev.step} of ${ev.totalSteps}.`);
      return;
    case 'exported':
      set((s) => ({
        exporting: s.exporting.filter((k) => k !== ev.kind),
        lastExport: { kind: ev.kind, filename: ev.filename, width: ev.width, height: ev.height, bytes: ev.blob.size },
        run: s.run.activity?.startsWith('Rendering') ? { ...s.run, activity: null } : s.run,
      }));
      download(ev.blob, ev.filename);
      if (ev.note) notice('warning', ev.note);
      return;
    case 'videoRendered':
      // The worker's "Rendering N frames…" is over.
      set((s) => (s.run.activity?.startsWith('Rendering') ? { run: { ...s.run, activity: null } } : {}));
      return;
    case 'error':
      set((s) => ({
        exporting: ev.command === 'export' ? [] : s.exporting,
        run: { ...s.run, requested: null, activity: null },
      }));
      return;
    default:
      return;
  }
}
