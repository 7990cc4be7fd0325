#!/usr/bin/env node
/**
 * Compiles src/ into dist/: the JavaScript `bin/tinyml.js` runs, so no TypeScript transpiler
 * runs when a command starts. esbuild bundles our own modules (npm packages stay imports of
 * node_modules) and splits every command into its own chunk, loaded only when that command
 * runs (src/cli/commands/index.ts), so `tinyml --version` loads commander and nothing else.
 *
 * Run by `npm run build`, by npm itself on install (`prepare`), by scripts/setup.sh, and by
 * bin/tinyml.js when a checkout's src/ is newer than dist/ (so an edit is never run stale).
 * `tsc --noEmit` stays the type checker; esbuild only strips types.
 */
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(ROOT, 'dist');
const STAMP = join(DIST, '.built');

/** Newest modification time (ms) of src/ and everything below it: files, and folders (a deleted file changes its folder). */
export function newestSourceMtime(dir = join(ROOT, 'src')) {
  let newest = statSync(dir).mtimeMs;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSourceMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** True when dist/ is missing, or older than a file of src/ (only checked where src/ exists). */
export function distIsStale() {
  if (!existsSync(STAMP)) return true;
  if (!existsSync(join(ROOT, 'src'))) return false;
  return newestSourceMtime() > statSync(STAMP).mtimeMs;
}

/** Builds dist/ in a private folder and moves it into place, so a reader never sees half of it. */
export async function buildDist() {
  const { build } = await import('esbuild');
  const work = mkdtempSync(join(ROOT, '.dist-'));
  try {
    await build({
      entryPoints: { main: join(ROOT, 'src/cli/main.ts') },
      outdir: work,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      chunkNames: 'chunks/[name]-[hash]',
      logLevel: 'warning',
    });
    writeFileSync(join(work, '.built'), `${new Date().toISOString()}\n`);
    rmSync(DIST, { recursive: true, force: true });
    try {
      renameSync(work, DIST);
    } catch (e) {
      // Another process built it at the same moment: theirs is as good as ours.
      if (!existsSync(STAMP)) throw e;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const t0 = performance.now();
  await buildDist();
  process.stdout.write(`built dist/ in ${Math.round(performance.now() - t0)} ms\n`);
}
