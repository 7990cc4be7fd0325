/** Where the firmware sources and the build cache live. */
import { resolve } from 'node:path';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
export const FIRMWARE_DIR = resolve(PROJECT_ROOT, 'firmware');
export const KERNELS_DIR = resolve(FIRMWARE_DIR, 'kernels');
export const KERNEL_INCLUDE_DIR = resolve(FIRMWARE_DIR, 'include');
export const RUNTIME_DIR = resolve(FIRMWARE_DIR, 'runtime');
export const PLATFORM_DIR = resolve(FIRMWARE_DIR, 'platform');
export const NATIVE_TEMPLATES_DIR = resolve(PROJECT_ROOT, 'templates/native');

/** The build cache: $TINYML_CACHE_DIR, else .tinyml-cache/ in the current folder. */
export function cacheDir(): string {
  return resolve(process.env['TINYML_CACHE_DIR'] ?? '.tinyml-cache');
}
