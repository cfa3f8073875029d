/**
 * The video slice (part 2): editing a decomposed clip with Text2LIVE. The form (preset, prompts, layer, quality and
 * its time estimate), the run (`startVideo`; the run state and progress are the run slice's, shared with photos), the
 * live preview (a frame's renders and the edited atlas), the player of the rendered edit (every frame, asked for
 * when a run stops or finishes) and the video downloads with their progress. Bitmaps are closed when replaced, so
 * the page holds at most one preview and one render of the clip.
 */
import { ConfigError, type EditConfig } from '../../edit/config';
import type { EditLayer } from '../../video/edit/layerData';
import {
  defaultLayer,
  resolveVideoConfig,
  VIDEO_PRESETS,
  VIDEO_QUALITY,
  videoPreset,
  type VideoPreset,
  type VideoQuality,
} from '../../video/edit/videoConfig';
import type { EditEvent, VideoFrameView } from '../../worker/protocol';
import type { RunState } from '../../worker/runState';
import { videoLevelEstimate, type LevelEstimate } from '../estimates';
import { runBusy } from './runSlice';
import type {
  AppState,
  Slice,
  SliceContext,
  VideoEditFormState,
  VideoEditPreview,
  VideoEditSlice,
  VideoPlayerState,
  VideoPrompts,
} from './types';

export const INITIAL_PLAYER: VideoPlayerState = {
  frames: [],
  frameSteps: [],
  renderStep: null,
  rendering: false,
  ready: false,
  current: 0,
  playing: false,
  loop: true,
  view: 'composite',
  before: false,
};

/** States a run reaches when it stops stepping with an edit: the player is filled then. */
const SETTLED: ReadonlySet<RunState> = new Set(['done', 'stopped']);
/** ...coming from these (not from an import that failed and left the edit as it was). */
const SETTLED_FROM: ReadonlySet<RunState> = new Set([
  'training',
  'pausing',
  'paused',
  'stopping',
  'preparing',
  'recovering',
  'loadingModel',
]);

/** "a; b" → ['a', 'b']; one description stays a string; empty → ''. */
export function splitPrompt(text: string): string | string[] {
  const parts = text
    .split(';')
    .map((t) => t.trim())
    .filter(Boolean);
  return parts.length === 0 ? '' : parts.length === 1 ? parts[0] : parts;
}

/** A preset's prompt (a string or a list) as the form shows it. */
export function joinPrompt(text: unknown): string {
  return Array.isArray(text) ? text.map(String).join('; ') : text == null ? '' : String(text);
}

function presetOf(form: VideoEditFormState): VideoPreset | null {
  return form.presetId ? videoPreset(form.presetId) : null;
}

/** The form's prompts as they were filled in from its preset (then the preset's own lists and bootstrap are sent). */
function promptsOfPreset(p: VideoPreset): VideoPrompts {
  const screen = joinPrompt(p.settings.screenText);
  const comp = joinPrompt(p.settings.compText);
  return { screenText: screen, compText: comp === screen ? '' : comp, srcText: joinPrompt(p.settings.srcText) };
}

/** The settings a video run takes from the form (on top of the video quality level's configuration). */
export function videoFormSettings(form: VideoEditFormState, seed: number): Partial<EditConfig> {
  const screen = splitPrompt(form.prompts.screenText);
  const comp = splitPrompt(form.prompts.compText);
  const src = splitPrompt(form.prompts.srcText);
  const settings: Partial<EditConfig> = { screenText: screen, compText: comp === '' ? screen : comp, seed };
  if (src !== '') settings.srcText = src;
  const preset = presetOf(form);
  if (preset && preset.settings.bootstrapText) {
    // The preset's bootstrapping over the whole run, at the level's step count.
    settings.bootstrapText = preset.settings.bootstrapText;
    settings.bootstrapEpoch = VIDEO_QUALITY[form.quality].steps;
  }
  return settings;
}

/** Whether the loaded clip's decomposition has a foreground layer. */
export function hasForeground(s: Pick<AppState, 'atlasLayers' | 'decomposeSettings'>): boolean {
  return s.atlasLayers ? s.atlasLayers.mode === 'two-layers' : !s.decomposeSettings.backgroundOnly;
}

/** The layer "Automatic" stands for now (spec: the preset's, else foreground when a source text is given). */
export function shownDefaultLayer(s: AppState): EditLayer {
  return defaultLayer(videoFormSettings(s.videoForm, s.seed), presetOf(s.videoForm), hasForeground(s));
}

/** Why Start cannot be pressed now (null: it can). */
export function videoStartBlocker(s: AppState): string | null {
  if (!s.clip) return 'Import a clip first.';
  if (!s.videoRun.decomposed) return 'Decompose the clip into layers first.';
  if (runBusy(s) || s.videoRun.pending) return 'A run is going on.';
  if (!s.videoForm.prompts.screenText.trim()) return 'Describe the edit layer first (for example “golden swan”).';
  if (s.videoForm.layer === 'foreground' && !hasForeground(s)) {
    return 'This decomposition has no foreground layer: edit the background.';
  }
  return null;
}

/** Presets written for the loaded clip first (matched by its file name), then the others. */
export function presetsForClip(clipName: string | null): { forClip: VideoPreset[]; others: VideoPreset[] } {
  const name = (clipName ?? '').toLowerCase().replace(/[_\s]/g, '-');
  const forClip = VIDEO_PRESETS.filter((p) => name.includes(p.clip));
  return { forClip, others: VIDEO_PRESETS.filter((p) => !forClip.includes(p)) };
}

/** A video level's time estimate on this device for the loaded clip (null: nothing measured to go by). */
export function videoEstimate(s: AppState, level: VideoQuality): LevelEstimate | null {
  if (!s.clip) return null;
  let config;
  try {
    config = resolveVideoConfig(level, videoFormSettings({ ...s.videoForm, quality: level }, s.seed));
  } catch {
    return null;
  }
  return videoLevelEstimate(
    level,
    config,
    { width: s.clip.info.width, height: s.clip.info.height, modelId: s.model.id },
    s.videoTimings,
    s.timings,
    s.model.vision ?? undefined,
  );
}

function closePreview(p: VideoEditPreview | null): void {
  if (!p) return;
  for (const b of Object.values(p.images)) b.close();
  p.atlas?.close();
}

function closeFrames(frames: VideoPlayerState['frames']): void {
  for (const f of frames) if (f) for (const b of Object.values(f)) b.close();
}

function allArrived(frameSteps: (number | null)[], step: number | null): boolean {
  return frameSteps.length > 0 && frameSteps.every((s) => s !== null && s === step);
}

export function createVideoEditSlice({ set, get, client, url }: SliceContext): Slice<VideoEditSlice> {
  const configError = (message: string) => set({ error: { kind: 'config', message, recoverable: true } });

  /** Drops the preview and the player (no video edit any more). */
  const clearEdit = () => {
    const s = get();
    closePreview(s.videoPreview);
    closeFrames(s.player.frames);
    set((st) => ({
      videoPreview: null,
      videoRun: { ...st.videoRun, info: null, pending: false },
      player: { ...INITIAL_PLAYER, loop: st.player.loop, view: st.player.view },
    }));
  };

  const state: VideoEditSlice = {
    videoForm: {
      presetId: '',
      prompts: { screenText: '', compText: '', srcText: '' },
      layer: 'auto',
      quality: url.dev ? 'tiny' : 'preview',
    },
    videoRun: { pending: false, info: null, decomposed: false },
    videoPreview: null,
    videoPreviewFrame: 0,
    player: INITIAL_PLAYER,
    videoExportQuality: 'medium',
    exportProgress: {},
    videoTimings: {},

    applyVideoPreset(id) {
      if (!id) {
        set((s) => ({ videoForm: { ...s.videoForm, presetId: '' } }));
        return;
      }
      const p = videoPreset(id);
      set((s) => ({ videoForm: { ...s.videoForm, presetId: p.id, prompts: promptsOfPreset(p), layer: 'auto' } }));
    },

    setVideoPrompt(key, value) {
      set((s) => ({ videoForm: { ...s.videoForm, prompts: { ...s.videoForm.prompts, [key]: value } } }));
    },

    setVideoLayer(layer) {
      set((s) => ({ videoForm: { ...s.videoForm, layer } }));
    },

    setVideoQuality(quality) {
      set((s) => ({ videoForm: { ...s.videoForm, quality } }));
    },

    startVideoEdit() {
      const s = get();
      const blocker = videoStartBlocker(s);
      if (blocker) {
        configError(blocker);
        return;
      }
      const form = s.videoForm;
      const config = videoFormSettings(form, s.seed);
      try {
        resolveVideoConfig(form.quality, config);
      } catch (e) {
        configError(e instanceof ConfigError ? e.message : String(e));
        return;
      }
      set((st) => ({
        error: null,
        losses: [],
        lossesBefore: st.losses,
        videoRun: { ...st.videoRun, pending: true },
        run: { ...st.run, requested: 'start', activity: 'Setting up the edit…' },
      }));
      if (s.model.state !== 'ready') void get().persistStorage();
      client().send({
        type: 'startVideo',
        model: get().modelSpec(),
        config,
        quality: form.quality,
        layer: form.layer === 'auto' ? null : form.layer,
        ...(form.presetId ? { preset: form.presetId } : {}),
      });
    },

    choosePreviewFrame(frame) {
      const frames = get().videoRun.info?.frames ?? get().clip?.info.frames ?? 1;
      const f = Math.max(0, Math.min(frames - 1, Math.round(frame)));
      set({ videoPreviewFrame: f });
      client().send({ type: 'previewFrame', frame: f });
    },

    renderVideo() {
      const s = get();
      if (!s.videoRun.info) return;
      set((st) => ({ player: { ...st.player, rendering: true, renderStep: st.run.step, ready: false } }));
      client().send({ type: 'renderVideo' });
    },

    setPlayerFrame(frame) {
      set((s) => {
        const n = s.player.frames.length;
        if (n === 0) return {};
        const current = Math.max(0, Math.min(n - 1, Math.round(frame)));
        return current === s.player.current ? s : { player: { ...s.player, current } };
      });
    },

    stepPlayer(delta) {
      set((s) => {
        const n = s.player.frames.length;
        if (n === 0) return {};
        const current = (((s.player.current + delta) % n) + n) % n;
        return { player: { ...s.player, current, playing: false } };
      });
    },

    setPlaying(on) {
      set((s) => {
        const n = s.player.frames.length;
        // Play from the start again when it stopped at the last frame.
        const restart = on && !s.player.loop && s.player.current >= n - 1;
        return { player: { ...s.player, playing: on && n > 0, current: restart ? 0 : s.player.current } };
      });
    },

    setLoop(loop) {
      set((s) => ({ player: { ...s.player, loop } }));
    },

    setPlayerView(view: VideoFrameView) {
      set((s) => ({ player: { ...s.player, view } }));
    },

    setBefore(before) {
      set((s) => ({ player: { ...s.player, before } }));
    },

    setVideoExportQuality(videoExportQuality) {
      set({ videoExportQuality });
    },

    exportVideo(kind, quality) {
      const q = quality ?? get().videoExportQuality;
      set((s) => {
        const exportProgress = { ...s.exportProgress };
        delete exportProgress[kind];
        return { exporting: [...s.exporting.filter((k) => k !== kind), kind], exportProgress };
      });
      client().send({ type: 'export', kind, ...(kind === 'video' ? { videoQuality: q } : {}) });
    },

    clearVideoEdit() {
      clearEdit();
    },
  };

  return {
    state,
    onEvent(ev: EditEvent) {
      switch (ev.type) {
        case 'clipImported':
          clearEdit();
          set((s) => ({ videoRun: { ...s.videoRun, decomposed: false }, videoPreviewFrame: 0 }));
          return;
        case 'atlasOpened':
          set((s) => ({ videoRun: { ...s.videoRun, decomposed: true } }));
          return;
        case 'started':
          if (!ev.video) {
            // A photo edit replaced whatever the worker held.
            if (get().videoRun.info || get().videoRun.pending) clearEdit();
            return;
          }
          {
            const frames = ev.video.frames;
            const old = get().player;
            // A run brought back (recovered, kept) keeps its frames until the next render; a new one starts empty.
            const keep = old.frames.length === frames && ev.step > 0;
            if (!keep) closeFrames(old.frames);
            set((s) => ({
              videoRun: { ...s.videoRun, pending: false, info: ev.video! },
              videoPreviewFrame: Math.min(s.videoPreviewFrame, frames - 1),
              player: keep
                ? { ...s.player, ready: false }
                : {
                    ...s.player,
                    frames: new Array<null>(frames).fill(null),
                    frameSteps: new Array<null>(frames).fill(null),
                    renderStep: null,
                    rendering: false,
                    ready: false,
                    current: 0,
                    playing: false,
                  },
            }));
          }
          return;
        case 'sessionOpened': {
          if (!ev.video) return;
          const info = ev.video;
          const cfg = ev.config;
          const old = get().player;
          // A render asked for when the session's run state came first is kept.
          const asked = old.rendering && old.renderStep === ev.step;
          closeFrames(old.frames);
          set((s) => ({
            mode: 'video',
            videoRun: { ...s.videoRun, pending: false, info, decomposed: true },
            videoForm: {
              presetId: '',
              prompts: {
                screenText: joinPrompt(cfg.screenText),
                compText: joinPrompt(cfg.compText) === joinPrompt(cfg.screenText) ? '' : joinPrompt(cfg.compText),
                srcText: joinPrompt(cfg.srcText),
              },
              layer: info.layer,
              quality: info.quality === 'tiny' && !s.url.dev ? 'preview' : info.quality,
            },
            player: {
              ...s.player,
              frames: new Array(info.frames).fill(null),
              frameSteps: new Array(info.frames).fill(null),
              renderStep: asked ? ev.step : null,
              rendering: asked,
              ready: false,
              current: 0,
              playing: false,
            },
          }));
          // The session's run state may have arrived first: fill the player now.
          const st = get();
          if (!asked && SETTLED.has(st.run.state) && st.run.requested === null) st.renderVideo();
          return;
        }
        case 'state': {
          if (ev.state === 'decomposing') {
            clearEdit();
            set((s) => ({ videoRun: { ...s.videoRun, decomposed: false } }));
            return;
          }
          if (ev.state === 'idle' && ev.from !== 'loadingModel') {
            if (get().videoRun.info || get().videoPreview) clearEdit();
            return;
          }
          const s = get();
          if (s.videoRun.info === null) {
            // A decomposition that ended (finished or stopped) with atlases to edit.
            if (SETTLED.has(ev.state) && s.atlas !== null && !s.videoRun.decomposed) {
              set((st) => ({ videoRun: { ...st.videoRun, decomposed: true } }));
            }
            return;
          }
          if (SETTLED.has(ev.state) && SETTLED_FROM.has(ev.from) && s.player.renderStep !== ev.step) {
            s.renderVideo();
          }
          return;
        }
        case 'progress': {
          const info = get().videoRun.info;
          if (!info || ev.timing.cropSeconds === null) return;
          set((s) => {
            if (!s.run.config || !s.clip) return {};
            return {
              videoTimings: {
                ...s.videoTimings,
                [info.quality]: {
                  quality: info.quality,
                  timing: ev.timing,
                  config: s.run.config,
                  width: s.clip.info.width,
                  height: s.clip.info.height,
                  modelId: s.model.id,
                },
              },
            };
          });
          return;
        }
        case 'preview': {
          if (ev.frame === undefined) return;
          const old = get().videoPreview;
          set({
            videoPreview: {
              step: ev.step,
              frame: ev.frame,
              width: ev.width,
              height: ev.height,
              images: ev.images,
              atlas: ev.atlas ?? null,
            },
          });
          // After the new one is drawn (a canvas may still hold the old one for this frame).
          if (old) queueMicrotask(() => closePreview(old));
          return;
        }
        case 'videoFrame': {
          const s = get();
          const p = s.player;
          const n = ev.frames;
          const frames: VideoPlayerState['frames'] = p.frames.length === n ? [...p.frames] : new Array(n).fill(null);
          const frameSteps: VideoPlayerState['frameSteps'] =
            p.frameSteps.length === n ? [...p.frameSteps] : new Array(n).fill(null);
          if (p.frames.length !== n) closeFrames(p.frames);
          const replaced = frames[ev.frame];
          frames[ev.frame] = ev.images;
          frameSteps[ev.frame] = ev.step;
          const renderStep = ev.step;
          set({
            player: {
              ...p,
              frames,
              frameSteps,
              renderStep,
              rendering: true,
              ready: allArrived(frameSteps, renderStep),
              current: Math.min(p.current, n - 1),
            },
          });
          if (replaced && replaced !== ev.images) {
            queueMicrotask(() => {
              for (const b of Object.values(replaced)) b.close();
            });
          }
          return;
        }
        case 'videoRendered':
          set((s) => ({
            player: {
              ...s.player,
              rendering: false,
              renderStep: ev.step,
              ready: allArrived(s.player.frameSteps, ev.step),
            },
          }));
          return;
        case 'exportProgress':
          set((s) => ({ exportProgress: { ...s.exportProgress, [ev.kind]: { done: ev.done, total: ev.total } } }));
          return;
        case 'exported':
          set((s) => {
            if (!(ev.kind in s.exportProgress)) return {};
            const next = { ...s.exportProgress };
            delete next[ev.kind];
            return { exportProgress: next };
          });
          return;
        case 'error':
          if (ev.command === 'export') set({ exportProgress: {} });
          if (ev.command === 'startVideo') set((s) => ({ videoRun: { ...s.videoRun, pending: false } }));
          if (ev.command === 'renderVideo') set((s) => ({ player: { ...s.player, rendering: false } }));
          return;
        default:
          return;
      }
    },
  };
}
