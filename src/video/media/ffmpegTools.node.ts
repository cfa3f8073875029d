/**
 * Finding the system ffmpeg and ffprobe (Debian's `ffmpeg` package has both) on PATH. No binary is downloaded:
 * without them, the CLI still reads frame folders and zips, and says what to install for a video.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { VideoImportError } from './importError';

export interface FfmpegTools {
  ffmpeg: string;
  ffprobe: string;
}

/** Options of the Node video path; `env` (default process.env) gives the PATH to search and the tools' environment. */
export interface FfmpegOptions {
  env?: NodeJS.ProcessEnv;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The absolute path of `name` on `PATH` (Windows: with .exe), or null. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const names = process.platform === 'win32' ? [`${name}.exe`, name] : [name];
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const n of names) {
      const candidate = join(dir, n);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return null;
}

export function ffmpegMissingError(label: string, missing: readonly string[], cause?: unknown): VideoImportError {
  const what = missing.join(' and ');
  return new VideoImportError(
    'ffmpeg-missing',
    label,
    `Decoding ${label} needs ${what}, which ${missing.length > 1 ? 'are' : 'is'} not on PATH. Install ffmpeg ` +
      '(Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg), or pass a folder or zip of PNG/JPEG frames.',
    { cause },
  );
}

/** Both tools, or VideoImportError('ffmpeg-missing') naming what to install. */
export function requireFfmpeg(label: string, env: NodeJS.ProcessEnv = process.env): FfmpegTools {
  const ffmpeg = findOnPath('ffmpeg', env);
  const ffprobe = findOnPath('ffprobe', env);
  if (!ffmpeg || !ffprobe) {
    throw ffmpegMissingError(label, [...(ffmpeg ? [] : ['ffmpeg']), ...(ffprobe ? [] : ['ffprobe'])]);
  }
  return { ffmpeg, ffprobe };
}

/** Runs a tool (ffmpeg, ffprobe) to its end with stdin closed, collecting stdout and stderr as text; rejects when it cannot start. */
export function runTool(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
