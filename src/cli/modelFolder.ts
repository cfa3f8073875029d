/** The folder a command loads CLIP from: `--model` as given, else the model cache (fetched first when missing). */
import { ensureCachedModel } from './modelCache';
import type { ModelChoice } from './modelOptions';

export interface ModelFolderIo {
  log(line: string): void;
  progress(line: string): void;
  signal?: AbortSignal;
  interactive?: boolean;
}

export async function modelFolder(choice: ModelChoice, io: ModelFolderIo): Promise<string> {
  if (choice.dir !== null) return choice.dir;
  return ensureCachedModel({
    modelId: choice.modelId,
    precision: choice.precision,
    hubUrl: choice.hubUrl,
    cacheRoot: choice.cacheRoot,
    signal: io.signal,
    log: io.log,
    progress: io.progress,
    progressIntervalMs: io.interactive ? 100 : 2000,
  });
}
