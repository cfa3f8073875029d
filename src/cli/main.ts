/**
 * `text2live` command-line entry (Node, any machine with a WebGPU adapter):
 *   text2live edit photo.jpg --prompt "golden horse" --src horse --roi horse --quality reference --out results/
 *   text2live fetch-model [--model-id ID] [--precision fp16]
 *   text2live atlas clip.mp4 [--masks DIR] [--frames 50] [--size 768x432] --out atlas/
 *   text2live edit-video clip.mp4 --atlas atlas/ --prompt "golden swan" --src swan --out edited/
 */
import { ModelLoadError } from '../clip/modelLoadError';
import { isVideoImportError } from '../video/media/importError';
import { ATLAS_USAGE, parseAtlasArgs } from './atlasCommand';
import { parseEditArgs, UsageError, EDIT_USAGE } from './editCommand';
import { FETCH_MODEL_USAGE, parseFetchModelArgs } from './fetchModelCommand';
import { ensureCachedModel } from './modelCache';
import { runAtlas } from './runAtlas';
import { runEdit } from './runEdit';
import { runVideoEdit } from './runVideoEdit';
import { parseVideoEditArgs, VIDEO_EDIT_USAGE } from './videoEditCommand';

const MAIN_USAGE = `Usage: text2live <command> [options]

Commands:
  edit         train an edit layer for an image (text2live edit --help)
  atlas        decompose a clip into layered atlases (text2live atlas --help)
  edit-video   edit a clip's foreground or background through its atlas (text2live edit-video --help)
  fetch-model  download the CLIP model into the cache ahead of time (text2live fetch-model --help)`;

/** stderr progress that overwrites itself on a terminal, and normal lines that never land on a progress line. */
function terminal() {
  const tty = process.stderr.isTTY === true;
  let open = false;
  const endProgress = () => {
    if (open) process.stderr.write('\n');
    open = false;
  };
  return {
    tty,
    progress(line: string) {
      if (tty) {
        process.stderr.write(`\r${line}\x1b[K`);
        open = true;
      } else process.stderr.write(`${line}\n`);
    },
    log(line: string) {
      endProgress();
      console.log(line);
    },
    error(line: string) {
      endProgress();
      console.error(line);
    },
    endProgress,
  };
}

function usageFailure(command: string, e: unknown, usage: string): number {
  if (e instanceof UsageError) {
    console.error(`text2live ${command}: ${e.message}\n\n${usage}`);
    return 2;
  }
  throw e;
}

/** 130 for a cancelled download (Ctrl-C), like an interrupted edit; 1 for other failures. */
function failureCode(e: unknown): number {
  return e instanceof ModelLoadError && e.kind === 'cancelled' ? 130 : 1;
}

async function fetchModel(argv: readonly string[]): Promise<number> {
  let cmd;
  try {
    cmd = parseFetchModelArgs(argv);
  } catch (e) {
    return usageFailure('fetch-model', e, FETCH_MODEL_USAGE);
  }
  if (!cmd) {
    console.log(FETCH_MODEL_USAGE);
    return 0;
  }
  const term = terminal();
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    term.error('Stopping the download; the next run resumes it (Ctrl-C again to quit at once)...');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const dir = await ensureCachedModel({
      ...cmd,
      signal: abort.signal,
      log: (line) => term.error(line), // stdout carries only the folder, for `--model "$(text2live fetch-model)"`
      progress: term.progress,
      progressIntervalMs: term.tty ? 100 : 2000,
    });
    term.endProgress();
    console.log(dir);
    return 0;
  } catch (e) {
    term.error(`text2live fetch-model: ${(e as Error).message}`);
    return failureCode(e);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

async function edit(argv: readonly string[]): Promise<number> {
  let cmd;
  try {
    cmd = parseEditArgs(argv);
  } catch (e) {
    return usageFailure('edit', e, EDIT_USAGE);
  }
  if (!cmd) {
    console.log(EDIT_USAGE);
    return 0;
  }
  const term = terminal();
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    term.error('Stopping after this step and saving (Ctrl-C again to quit at once)...');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await runEdit(cmd, {
      log: term.log,
      progress: term.progress,
      signal: abort.signal,
      interactive: term.tty,
    });
    term.endProgress();
    console.log(
      result.interrupted
        ? `Interrupted at step ${result.stepsDone}/${result.totalSteps}: the last snapshot and session.safetensors are in ${result.outDir}`
        : `Done: ${result.outDir}/composite.png, edit.png, alpha.png, greenscreen.png, log.json, session.safetensors`,
    );
    return result.interrupted ? 130 : 0;
  } catch (e) {
    term.error(`text2live edit: ${(e as Error).message}`);
    return failureCode(e);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

async function atlas(argv: readonly string[]): Promise<number> {
  let cmd;
  try {
    cmd = parseAtlasArgs(argv);
  } catch (e) {
    return usageFailure('atlas', e, ATLAS_USAGE);
  }
  if (!cmd) {
    console.log(ATLAS_USAGE);
    return 0;
  }
  const term = terminal();
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    term.error('Stopping after this iteration and writing what was fitted (Ctrl-C again to quit at once)...');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const r = await runAtlas(cmd, { log: term.log, progress: term.progress, signal: abort.signal });
    term.endProgress();
    if (r.interrupted && r.iterations === 0) console.log('Stopped before fitting: nothing was written.');
    else if (r.interrupted) {
      console.log(`Interrupted at iteration ${r.iterations}/${r.totalIterations}: the atlas so far is in ${r.outDir}`);
    } else {
      console.log(
        `Done: ${r.outDir}/atlas.safetensors, atlas/, reconstruction/, alpha/ (${r.frames} frames, ${r.width}×${r.height}), log.json`,
      );
    }
    return r.interrupted ? 130 : 0;
  } catch (e) {
    term.error(`text2live atlas: ${(e as Error).message}`);
    return isVideoImportError(e, 'cancelled') ? 130 : 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

async function editVideo(argv: readonly string[]): Promise<number> {
  let cmd;
  try {
    cmd = parseVideoEditArgs(argv);
  } catch (e) {
    return usageFailure('edit-video', e, VIDEO_EDIT_USAGE);
  }
  if (!cmd) {
    console.log(VIDEO_EDIT_USAGE);
    return 0;
  }
  const term = terminal();
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    term.error('Stopping after this step, then rendering and saving (Ctrl-C again to quit at once)...');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const r = await runVideoEdit(cmd, {
      log: term.log,
      progress: term.progress,
      signal: abort.signal,
      interactive: term.tty,
    });
    term.endProgress();
    if (r.stage === 'atlas') {
      console.log(`Interrupted while fitting the atlas: no edit was made; what was fitted is in ${r.atlasFile}`);
      return 130;
    }
    const what = `${r.video ? 'edited.mp4, ' : ''}frames/, layer/ (${r.frames} frames), atlas-edit.png, log.json, session.safetensors`;
    console.log(
      r.interrupted
        ? `Interrupted at step ${r.stepsDone}/${r.totalSteps}: ${what} for the steps done are in ${r.outDir}`
        : `Done: ${r.outDir}/${what}`,
    );
    if (r.interrupted) return 130;
    return r.videoFailed ? 1 : 0;
  } catch (e) {
    term.error(`text2live edit-video: ${(e as Error).message}`);
    return isVideoImportError(e, 'cancelled') ? 130 : failureCode(e);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') {
    console.log(MAIN_USAGE);
    return command ? 0 : 2;
  }
  if (command === 'edit') return edit(rest);
  if (command === 'fetch-model') return fetchModel(rest);
  if (command === 'atlas') return atlas(rest);
  if (command === 'edit-video') return editVideo(rest);
  console.error(`text2live: unknown command "${command}"\n\n${MAIN_USAGE}`);
  return 2;
}
