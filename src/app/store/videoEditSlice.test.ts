import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveConfig } from '../../edit/qualityLevels';
import { resolveVideoConfig, VIDEO_QUALITY } from '../../video/edit/videoConfig';
import { WHOLE_ATLAS_EVERY } from '../../video/edit/videoStep';
import type { EditCommand, EditEvent, VideoEditInfo, VideoFrameView } from '../../worker/protocol';
import type { RunState } from '../../worker/runState';
import type { EditClientLike } from '../editClient';
import { measuredVideoSeconds, VIDEO_WHOLE_ATLAS_EVERY, videoLevelEstimate, videoRunFlop } from '../estimates';
import { formatDuration } from '../components/format';
import { createAppStore } from './index';
import { readUrlOptions } from './urlOptions';
import { joinPrompt, presetsForClip, splitPrompt, videoEstimate, videoFormSettings } from './videoEditSlice';

/** A worker client that records commands and lets the test play the worker's events. */
class FakeClient implements EditClientLike {
  sent: EditCommand[] = [];
  private listener: ((ev: EditEvent) => void) | null = null;
  send(command: EditCommand): void {
    this.sent.push(command);
  }
  subscribe(listener: (ev: EditEvent) => void): () => void {
    this.listener = listener;
    return () => (this.listener = null);
  }
  emit(ev: EditEvent): void {
    this.listener!(ev);
  }
  of<T extends EditCommand['type']>(type: T): Extract<EditCommand, { type: T }>[] {
    return this.sent.filter((c) => c.type === type) as Extract<EditCommand, { type: T }>[];
  }
}

interface FakeBitmap extends ImageBitmap {
  close: ReturnType<typeof vi.fn> & (() => void);
}

function bitmap(width = 8, height = 6): FakeBitmap {
  return { width, height, close: vi.fn() } as unknown as FakeBitmap;
}

const RENDERS = ['composite', 'edit', 'alpha', 'greenscreen'] as const;
const VIEWS: VideoFrameView[] = ['composite', 'edit', 'alpha', 'greenscreen', 'input'];

function renders(): Record<(typeof RENDERS)[number], FakeBitmap> {
  return Object.fromEntries(RENDERS.map((k) => [k, bitmap()])) as Record<(typeof RENDERS)[number], FakeBitmap>;
}

function frameViews(): Record<VideoFrameView, FakeBitmap> {
  return Object.fromEntries(VIEWS.map((k) => [k, bitmap()])) as Record<VideoFrameView, FakeBitmap>;
}

const CLIP = {
  name: 'blackswan.mp4',
  width: 96,
  height: 54,
  frames: 4,
  frameRate: 24,
  sourceFrameCount: 4,
  frameIndices: [0, 1, 2, 3],
  hasMasks: false,
};

const flush = () => new Promise<void>((r) => setTimeout(r, 0));

function setup(search = '') {
  const client = new FakeClient();
  const store = createAppStore(() => client, readUrlOptions(search));
  store.getState().connect();
  const emit = (ev: EditEvent) => client.emit(ev);
  const state = (s: RunState, from: RunState, step = 0, totalSteps = 0) =>
    emit({ type: 'state', state: s, from, step, totalSteps });
  /** An imported and decomposed clip, the model loaded. */
  const decomposed = () => {
    emit({ type: 'clipImported', clip: CLIP, strip: [], stripFrames: [] });
    state('importing', 'idle');
    state('idle', 'importing');
    state('preparing', 'idle');
    state('decomposing', 'preparing');
    emit({
      type: 'atlasProgress',
      iteration: 10,
      iterations: 10,
      psnr: 30,
      terms: {} as never,
      secondsPerIteration: 0.1,
      etaSeconds: 0,
      elapsedSeconds: 1,
    });
    state('done', 'decomposing');
    store.setState((s) => ({ model: { ...s.model, state: 'ready' } }));
  };
  const info: VideoEditInfo = { layer: 'foreground', frames: 4, frameRate: 24, quality: 'preview' };
  /** The worker's answer to startVideo: started, then training. */
  const started = (video: VideoEditInfo = info, totalSteps = 300) => {
    state('preparing', 'done');
    emit({
      type: 'started',
      totalSteps,
      step: 0,
      workingSize: { width: 96, height: 54 },
      fullSize: { width: 96, height: 54 },
      seed: 1,
      config: resolveVideoConfig(video.quality, { screenText: 'golden' }),
      quality: 'preview',
      fullResolutionExport: false,
      video,
    });
    state('training', 'preparing', 0, totalSteps);
  };
  return { client, store, emit, state, decomposed, started, info };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the video edit form', () => {
  it('blocks Start, with the reason, until there is a decomposition and a prompt', () => {
    const { store, decomposed } = setup();
    const blocker = () => store.getState().videoRun.decomposed;
    expect(blocker()).toBe(false);
    store.getState().startVideoEdit();
    expect(store.getState().error?.message).toMatch(/clip/);
    decomposed();
    expect(blocker()).toBe(true);
    store.getState().startVideoEdit();
    expect(store.getState().error?.message).toMatch(/Describe the edit layer/);
  });

  it('offers the presets written for the loaded clip first', () => {
    const { forClip, others } = presetsForClip('blackswan.mp4');
    expect(forClip.map((p) => p.clip)).toEqual(['blackswan', 'blackswan', 'blackswan', 'blackswan']);
    expect(others.some((p) => p.clip === 'blackswan')).toBe(false);
    expect(presetsForClip('car_turn.mov').forClip.every((p) => p.clip === 'car-turn')).toBe(true);
    expect(presetsForClip(null).forClip).toEqual([]);
  });

  it('fills the prompts from a preset and sends its lists; several prompts are separated by “;”', () => {
    const { store } = setup();
    store.getState().applyVideoPreset('car-turn-winter');
    const form = store.getState().videoForm;
    expect(form.prompts.screenText).toBe('winter scene; snow everywhere; beautiful snow');
    expect(form.prompts.srcText).toBe('countryside; countryside with trees; countryside');
    const settings = videoFormSettings(form, 7);
    expect(settings.screenText).toEqual(['winter scene', 'snow everywhere', 'beautiful snow']);
    expect(settings.compText).toEqual(['winter countryside scene', 'snowy countryside scene', 'beautiful snow']);
    expect(settings.seed).toBe(7);
    expect(splitPrompt(' fog ')).toBe('fog');
    expect(splitPrompt(' ; ')).toBe('');
    expect(joinPrompt(['a', 'b'])).toBe('a; b');
    // Bootstrapping presets bootstrap over the whole run, at the level's steps.
    store.getState().applyVideoPreset('car-turn-rusty');
    const rusty = videoFormSettings(store.getState().videoForm, -1);
    expect(rusty).toMatchObject({ bootstrapText: 'car', bootstrapEpoch: VIDEO_QUALITY.preview.steps });
    expect(rusty.compText).toBe('rusty jeep');
  });

  it('shows the default layer: the preset’s, else foreground when the source is named', async () => {
    const { store, decomposed } = setup();
    const { shownDefaultLayer } = await import('./videoEditSlice');
    decomposed();
    store.getState().setVideoPrompt('screenText', 'fog');
    expect(shownDefaultLayer(store.getState())).toBe('background');
    store.getState().setVideoPrompt('srcText', 'swan');
    expect(shownDefaultLayer(store.getState())).toBe('foreground');
    store.getState().applyVideoPreset('lucia-fog');
    expect(shownDefaultLayer(store.getState())).toBe('background');
    // A background-only decomposition has no foreground to edit.
    store.getState().applyVideoPreset('libby-gold');
    store.setState({ atlasLayers: { mode: 'background-only', reason: 'no object' } });
    expect(shownDefaultLayer(store.getState())).toBe('background');
  });
});

describe('startVideoEdit', () => {
  it('sends startVideo with the prompts, the quality, the preset and layer null for Automatic', () => {
    const { client, store, decomposed } = setup();
    decomposed();
    store.getState().applyVideoPreset('blackswan-gold');
    store.getState().setVideoQuality('standard');
    store.getState().startVideoEdit();
    const [cmd] = client.of('startVideo');
    expect(cmd).toMatchObject({ quality: 'standard', layer: null, preset: 'blackswan-gold' });
    // The preset's lists stay lists (paired with the source texts by the direction loss).
    expect(cmd.config).toMatchObject({
      screenText: ['golden swan', 'golden swan'],
      compText: ['golden swan', 'golden swan'],
      srcText: ['black swan', 'swan'],
    });
    expect(cmd.model.modelId).toBe(store.getState().model.id);
    expect(store.getState().run.requested).toBe('start');
    expect(store.getState().videoRun.pending).toBe(true);
  });

  it('sends an explicit layer, and no preset for typed prompts', () => {
    const { client, store, decomposed } = setup();
    decomposed();
    store.getState().setVideoPrompt('screenText', 'snow');
    store.getState().setVideoLayer('background');
    store.getState().startVideoEdit();
    const [cmd] = client.of('startVideo');
    expect(cmd.layer).toBe('background');
    expect('preset' in cmd).toBe(false);
    expect(cmd.config).toMatchObject({ screenText: 'snow', compText: 'snow' });
    expect(cmd.config.srcText).toBeUndefined();
  });
});

describe('the live preview', () => {
  it('takes a video preview’s frame and atlas; the photo preview stays untouched; old bitmaps are closed', async () => {
    const { store, emit, decomposed, started } = setup();
    decomposed();
    store.getState().setVideoPrompt('screenText', 'gold');
    store.getState().startVideoEdit();
    started();
    const first = { images: renders(), atlas: bitmap(32, 32) };
    emit({ type: 'preview', step: 5, width: 96, height: 54, frame: 0, ...first });
    const p = store.getState().videoPreview!;
    expect(p).toMatchObject({ step: 5, frame: 0 });
    expect(p.atlas).toBe(first.atlas);
    expect(p.images.composite).toBe(first.images.composite);
    expect(store.getState().preview).toBeNull();
    const second = { images: renders(), atlas: bitmap(32, 32) };
    emit({ type: 'preview', step: 10, width: 96, height: 54, frame: 2, ...second });
    await flush();
    expect(first.atlas.close).toHaveBeenCalled();
    for (const b of Object.values(first.images)) expect(b.close).toHaveBeenCalled();
    expect(second.atlas.close).not.toHaveBeenCalled();
    expect(store.getState().videoPreview?.frame).toBe(2);
  });

  it('sends the chosen preview frame, within the clip', () => {
    const { client, store, decomposed, started } = setup();
    decomposed();
    started();
    store.getState().choosePreviewFrame(2);
    store.getState().choosePreviewFrame(99);
    expect(client.of('previewFrame').map((c) => c.frame)).toEqual([2, 3]);
    expect(store.getState().videoPreviewFrame).toBe(3);
  });
});

describe('the player', () => {
  it('asks for every frame when the run is done, fills per frame and is ready once all arrived', () => {
    const { client, store, emit, state, decomposed, started } = setup();
    decomposed();
    started();
    expect(client.of('renderVideo')).toHaveLength(0);
    state('done', 'training', 300, 300);
    expect(client.of('renderVideo')).toHaveLength(1);
    expect(store.getState().player.rendering).toBe(true);
    emit({ type: 'busy', phase: 'render', message: 'Rendering 4 frames of the edit…' });
    expect(store.getState().run.activity).toBe('Rendering 4 frames of the edit…');
    for (let f = 0; f < 4; f++) {
      expect(store.getState().player.ready).toBe(false);
      emit({ type: 'videoFrame', step: 300, frame: f, frames: 4, images: frameViews() });
    }
    expect(store.getState().player.ready).toBe(true);
    expect(store.getState().player.frames.every((f) => f !== null)).toBe(true);
    emit({ type: 'videoRendered', step: 300, frames: 4 });
    expect(store.getState().player.rendering).toBe(false);
    // The worker's "Rendering…" line goes with it.
    expect(store.getState().run.activity).toBeNull();
    // The same step again does not render again.
    state('done', 'loadingModel', 300, 300);
    expect(client.of('renderVideo')).toHaveLength(1);
  });

  it('asks again after a stop at another step, and closes the frames it replaces', async () => {
    const { client, store, emit, state, decomposed, started } = setup();
    decomposed();
    started();
    state('stopping', 'training', 40, 300);
    state('stopped', 'stopping', 40, 300);
    expect(client.of('renderVideo')).toHaveLength(1);
    const old = [0, 1, 2, 3].map((frame) => {
      const images = frameViews();
      emit({ type: 'videoFrame', step: 40, frame, frames: 4, images });
      return images;
    });
    state('training', 'stopped', 40, 300);
    state('stopping', 'training', 80, 300);
    state('stopped', 'stopping', 80, 300);
    expect(client.of('renderVideo')).toHaveLength(2);
    emit({ type: 'videoFrame', step: 80, frame: 0, frames: 4, images: frameViews() });
    // Mixed steps: not ready until every frame is the new step's.
    expect(store.getState().player.ready).toBe(false);
    await flush();
    for (const b of Object.values(old[0])) expect(b.close).toHaveBeenCalled();
    for (const b of Object.values(old[1])) expect(b.close).not.toHaveBeenCalled();
  });

  it('plays, steps, loops and switches views', () => {
    const { store, emit, decomposed, started } = setup();
    decomposed();
    started();
    for (let f = 0; f < 4; f++) emit({ type: 'videoFrame', step: 1, frame: f, frames: 4, images: frameViews() });
    const s = store.getState();
    s.setPlayerFrame(2);
    expect(store.getState().player.current).toBe(2);
    s.stepPlayer(1);
    s.stepPlayer(1);
    expect(store.getState().player.current).toBe(0);
    s.stepPlayer(-1);
    expect(store.getState().player.current).toBe(3);
    s.setLoop(false);
    s.setPlaying(true);
    // Not looping, at the end: plays from the start.
    expect(store.getState().player).toMatchObject({ playing: true, current: 0 });
    s.setPlayerView('alpha');
    s.setBefore(true);
    expect(store.getState().player).toMatchObject({ view: 'alpha', before: true });
    s.setPlayerFrame(99);
    expect(store.getState().player.current).toBe(3);
  });

  it('closes every bitmap when a new clip replaces the edit', async () => {
    const { store, emit, decomposed, started } = setup();
    decomposed();
    started();
    const images = frameViews();
    emit({ type: 'videoFrame', step: 1, frame: 0, frames: 4, images });
    const atlas = bitmap();
    emit({ type: 'preview', step: 1, width: 96, height: 54, frame: 0, images: renders(), atlas });
    emit({ type: 'clipImported', clip: CLIP, strip: [], stripFrames: [] });
    await flush();
    for (const b of Object.values(images)) expect(b.close).toHaveBeenCalled();
    expect(atlas.close).toHaveBeenCalled();
    expect(store.getState()).toMatchObject({ videoPreview: null, videoRun: { info: null, decomposed: false } });
    expect(store.getState().player.frames).toEqual([]);
  });
});

describe('video downloads and sessions', () => {
  it('sends the export with the video quality and tracks its progress', () => {
    const { client, store, emit, decomposed, started } = setup();
    decomposed();
    started();
    store.getState().exportVideo('video', 'high');
    store.getState().exportVideo('frames');
    expect(client.of('export')).toEqual([
      { type: 'export', kind: 'video', videoQuality: 'high' },
      { type: 'export', kind: 'frames' },
    ]);
    expect(store.getState().exporting).toEqual(['video', 'frames']);
    emit({ type: 'exportProgress', kind: 'video', done: 2, total: 4 });
    expect(store.getState().exportProgress.video).toEqual({ done: 2, total: 4 });
    const click = vi.fn();
    vi.stubGlobal('document', {
      createElement: () => ({ click, remove: () => {}, style: {} }),
      body: { append: () => {} },
    });
    vi.stubGlobal('URL', { createObjectURL: () => 'blob:x', revokeObjectURL: () => {} });
    emit({ type: 'exported', kind: 'video', blob: new Blob(['x']), filename: 'edit.mp4' });
    expect(click).toHaveBeenCalled();
    expect(store.getState().exportProgress.video).toBeUndefined();
    expect(store.getState().exporting).toEqual(['frames']);
    emit({ type: 'exportProgress', kind: 'frames', done: 1, total: 4 });
    emit({ type: 'error', kind: 'internal', message: 'x', recoverable: true, command: 'export' });
    expect(store.getState().exportProgress).toEqual({});
    expect(store.getState().exporting).toEqual([]);
  });

  it('a video session switches the page to the video edit, fills the form and the player', () => {
    const { client, store, emit, state, decomposed } = setup();
    decomposed();
    const prompts = store.getState().prompts;
    state('preparing', 'done');
    emit({
      type: 'sessionOpened',
      step: 120,
      totalSteps: 300,
      config: resolveVideoConfig('standard', { screenText: ['fog', 'foggy'], compText: 'foggy park', srcText: 'park' }),
      quality: 'preview',
      image: null,
      video: { layer: 'background', frames: 4, frameRate: 24, quality: 'standard' },
    });
    state('stopped', 'preparing', 120, 300);
    const s = store.getState();
    expect(s.mode).toBe('video');
    expect(s.videoForm).toMatchObject({
      layer: 'background',
      quality: 'standard',
      prompts: { screenText: 'fog; foggy', compText: 'foggy park', srcText: 'park' },
    });
    // The photo form is not the session's.
    expect(s.prompts).toEqual(prompts);
    expect(client.of('renderVideo')).toHaveLength(1);
    expect(s.player.frames).toHaveLength(4);
  });
});

describe('video time estimates', () => {
  const timing = { cropSeconds: 0.5, fullSeconds: 1.5, measured: 20 };
  const clip = { width: 96, height: 54, modelId: 'tiny-clip' };
  const config = (q: 'preview' | 'standard' | 'reference') => resolveVideoConfig(q, { screenText: 'gold' });

  it('keeps the whole-atlas period of the video job', () => {
    expect(VIDEO_WHOLE_ATLAS_EVERY).toBe(WHOLE_ATLAS_EVERY);
  });

  it('prices a level that ran from its own step times, whole-atlas steps apart', () => {
    const own = { quality: 'preview' as const, timing, config: config('preview'), ...clip };
    const est = videoLevelEstimate('preview', config('preview'), clip, { preview: own }, {})!;
    // 300 steps, a whole-atlas step every 75: 4 of 1.5 s and 296 of 0.5 s.
    expect(est).toEqual({ seconds: 296 * 0.5 + 4 * 1.5, basis: 'measured' });
    expect(measuredVideoSeconds(config('preview'), timing)).toBe(est.seconds);
    expect(formatDuration(est.seconds)).toBe('2 min 34 s');
  });

  it('scales another level by its steps, views and atlas density; or an image level to the atlas crop', () => {
    const own = { quality: 'preview' as const, timing, config: config('preview'), ...clip };
    const std = videoLevelEstimate('standard', config('standard'), clip, { preview: own }, {})!;
    const ratio = videoRunFlop(config('standard'), clip, 0.75) / videoRunFlop(config('preview'), clip, 0.5);
    expect(std.basis).toBe('scaled');
    expect(std.seconds / (154 * ratio)).toBeCloseTo(1, 9);
    expect(ratio).toBeGreaterThan(1000 / 300);
    // Another clip's measurement is not used; an image level's with the same model is, scaled.
    const elsewhere = videoLevelEstimate('standard', config('standard'), { ...clip, width: 200 }, { preview: own }, {});
    expect(elsewhere).toBeNull();
    const image = {
      timing: { cropSeconds: 1, fullSeconds: 2, measured: 10 },
      config: resolveConfig('preview', { screenText: 'gold' }),
      width: 512,
      height: 512,
      modelId: 'tiny-clip',
    };
    const fromImage = videoLevelEstimate('preview', config('preview'), clip, {}, { preview: image })!;
    expect(fromImage.basis).toBe('scaled');
    expect(fromImage.seconds).toBeGreaterThan(0);
    expect(
      videoLevelEstimate('preview', config('preview'), { ...clip, modelId: 'x' }, {}, { preview: image }),
    ).toBeNull();
  });

  it('the store records a video run’s step times and prices the form’s levels with them', () => {
    const { store, emit, decomposed, started } = setup();
    decomposed();
    store.setState((s) => ({ model: { ...s.model, id: 'tiny-clip' } }));
    store.getState().setVideoPrompt('screenText', 'gold');
    expect(videoEstimate(store.getState(), 'preview')).toBeNull();
    started();
    emit({
      type: 'progress',
      report: { step: 3, totalSteps: 300, losses: {} } as never,
      stepsPerSecond: 2,
      etaSeconds: 100,
      elapsedSeconds: 2,
      timing,
    });
    const s = store.getState();
    expect(s.videoTimings.preview?.timing).toEqual(timing);
    // Not taken as an image level's.
    expect(s.timings).toEqual({});
    expect(videoEstimate(s, 'preview')).toEqual({ seconds: 154, basis: 'measured' });
    expect(videoEstimate(s, 'reference')?.basis).toBe('scaled');
  });
});
