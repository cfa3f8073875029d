/** Types of tools/preflight.mjs (plain JavaScript, so that it runs before any dependency is installed). */
export const DEFAULT_CHROMIUM_PATH: string;
export const VULKAN_LOADER: string;
export const CHROMIUM_LIBRARY_DIR: string;
export const FFMPEG_TOOLS: readonly string[];

export interface Missing {
  what: string;
  fix: string;
}

export interface Probe {
  env: Record<string, string | undefined>;
  platform: string;
  arch: string;
  isExecutableFile: (path: string) => boolean;
  isFile: (path: string) => boolean;
  ldconfigCache: () => string;
}

export function librarySearchDirs(env: Record<string, string | undefined>, arch: string): string[];
export function findMissing(probe: Probe): Missing[];
export function formatMissing(missing: readonly Missing[]): string;
