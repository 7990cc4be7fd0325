/** Where the firmware sources, templates and board manifests live, and where the build cache is. */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/**
 * The tinyml installation: the nearest folder above this module holding package.json and
 * firmware/. Found by walking up because this module runs both from src/build/ (tests, tsx)
 * and from a chunk of the compiled dist/.
 */
function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'firmware'))) return dir;
    if (dirname(dir) === dir) return resolve(start, '../..');
  }
}

export const PROJECT_ROOT = findProjectRoot(import.meta.dirname);
export const FIRMWARE_DIR = resolve(PROJECT_ROOT, 'firmware');
export const KERNELS_DIR = resolve(FIRMWARE_DIR, 'kernels');
export const KERNEL_INCLUDE_DIR = resolve(FIRMWARE_DIR, 'include');
export const RUNTIME_DIR = resolve(FIRMWARE_DIR, 'runtime');
export const PLATFORM_DIR = resolve(FIRMWARE_DIR, 'platform');
export const TEMPLATES_DIR = resolve(PROJECT_ROOT, 'templates');
export const NATIVE_TEMPLATES_DIR = resolve(TEMPLATES_DIR, 'native');
export const BOARDS_DIR = resolve(PROJECT_ROOT, 'boards');

/**
 * The one cache folder (compiled kernel/runtime objects, host runners): $TINYML_CACHE, else
 * $XDG_CACHE_HOME/tinyml, else ~/.cache/tinyml (the XDG Base Directory default). Never the
 * current folder. Entries are keyed by content hashes, so the folder can be deleted at any time.
 */
export function cacheDir(): string {
  const own = process.env['TINYML_CACHE'];
  if (own) return resolve(own);
  const xdg = process.env['XDG_CACHE_HOME'];
  // The spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
  if (xdg && xdg.startsWith('/')) return join(xdg, 'tinyml');
  return join(homedir(), '.cache', 'tinyml');
}
