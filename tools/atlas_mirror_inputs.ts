/**
 * Developer tool: the inputs of tools/atlas_fit_mirror.py (the CPU mirror of a whole atlas fit), made by the
 * product's own code so the mirror fits exactly what `npm run bench -- atlas` fits: the clip imported at the working
 * size (importAtlasClip), its masks, and the WGSL flows with their forward–backward masks, as one safetensors file.
 *
 *   npx tsx tools/atlas_mirror_inputs.ts [--frames DIR] [--size 384x216] [--frames-count 50] --out FILE
 *
 * Tensors: frames [F,H,W,3] in [0,1], masks [F,H,W] in {0,1} (when the clip has them), autoMasks [F,H,W] (the
 * motion masks of src/video/masks, when they find an object), flows.forward /
 * flows.backward [F−1,2,H,W], flows.forwardValid / flows.backwardValid [F−1,1,H,W]; metadata: geometry and
 * frameIndices (JSON), source.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { importAtlasClip } from '../src/cli/atlasClip';
import { DEFAULT_ATLAS_CLIP, parseSize } from '../src/cli/atlasBench';
import { chooseMasks } from '../src/cli/atlasMasks';
import { nodeEngine } from '../src/gpu/node';
import { encodeSafetensors, type SafetensorsEntry } from '../src/nn/safetensors';
import { clipFlows } from '../src/video/atlas/clipData';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      frames: { type: 'string', default: DEFAULT_ATLAS_CLIP },
      size: { type: 'string', default: '384x216' },
      'frames-count': { type: 'string', default: '50' },
      out: { type: 'string' },
    },
  });
  if (!values.out) throw new Error('--out FILE is required');
  const clip = await importAtlasClip(values.frames, {
    frameCount: Number(values['frames-count']),
    bound: parseSize('size', values.size),
  });
  const { width: w, height: h } = clip;
  const f = clip.frames.length;
  const rgb = new Float32Array(f * h * w * 3);
  clip.frames.forEach((frame, t) => {
    for (let q = 0; q < w * h; q++)
      for (let c = 0; c < 3; c++) rgb[(t * w * h + q) * 3 + c] = frame.data[4 * q + c] / 255;
  });
  const entries: SafetensorsEntry[] = [{ name: 'frames', shape: [f, h, w, 3], data: rgb }];
  if (clip.masks) {
    const m = new Float32Array(f * h * w);
    clip.masks.forEach((mask, t) => mask.forEach((v, q) => (m[t * w * h + q] = v >= 128 ? 1 : 0)));
    entries.push({ name: 'masks', shape: [f, h, w], data: m });
  }
  const engine = await nodeEngine();
  const t0 = performance.now();
  const flows = clipFlows(engine, clip);
  for (const key of ['forward', 'backward', 'forwardValid', 'backwardValid'] as const) {
    entries.push({ name: `flows.${key}`, shape: flows[key].shape, data: await flows[key].read() });
  }
  console.error(`flows: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // The motion masks the fit would choose without given masks (src/video/masks), for the mirror's --masks auto.
  const automatic = await chooseMasks('automatic', engine, flows, clip);
  console.error(`automatic masks: ${automatic.reason}`);
  if (automatic.kind === 'automatic') {
    const m = new Float32Array(f * h * w);
    automatic.masks.forEach((mask, t) => mask.forEach((v, q) => (m[t * w * h + q] = v >= 128 ? 1 : 0)));
    entries.push({ name: 'autoMasks', shape: [f, h, w], data: m });
  }
  const bytes = encodeSafetensors(entries, {
    geometry: JSON.stringify({ width: w, height: h, frames: f }),
    frameIndices: JSON.stringify(clip.frameIndices),
    source: clip.sourceName,
  });
  await writeFile(values.out, bytes);
  console.error(`wrote ${values.out}: ${f} frames at ${w}×${h}${clip.masks ? ' with masks' : ''}`);
  engine.destroy();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
