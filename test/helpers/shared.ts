/** Paths into ../shared (the real models and the TFLite Micro golden outputs), as CI lays it out. */
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
export const SHARED = resolve(PROJECT_ROOT, '../shared');
export const MODELS = resolve(SHARED, 'models');
export const GOLDEN = resolve(SHARED, 'golden');

export function sharedPath(...parts: string[]): string {
  return resolve(SHARED, ...parts);
}

export function readShared(...parts: string[]): Uint8Array {
  return new Uint8Array(readFileSync(sharedPath(...parts)));
}
