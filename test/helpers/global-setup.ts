/**
 * Runs once before the suite: compiles dist/ when src/ is newer (what bin/tinyml.js runs, so CLI
 * tests exercise the shipped JavaScript built from the current sources) and points TINYML_CACHE at a fresh
 * folder for this run (shared by every test file and CLI child, removed afterwards), so the
 * suite neither reads nor fills the user's own cache.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error: plain JavaScript build script without type declarations
import { buildDist, distIsStale } from '../../scripts/build-dist.js';

export default async function setup(): Promise<() => void> {
  if ((distIsStale as () => boolean)()) await (buildDist as () => Promise<void>)();
  const own = process.env['TINYML_CACHE'] === undefined;
  const cache = own ? mkdtempSync(join(tmpdir(), 'tinyml-test-cache-')) : process.env['TINYML_CACHE']!;
  process.env['TINYML_CACHE'] = cache;
  return () => {
    if (own) rmSync(cache, { recursive: true, force: true });
  };
}
