/**
 * Compiled objects of the sources that are the same in every firmware (kernels, runtime,
 * platform startup), cached in the one cache folder (paths.ts cacheDir()) under
 * objects/<key>/, where the key hashes the compiler (its path and `--version`), the flags and
 * the bytes of every source and header. A second build with the same compiler and flags
 * compiles only the model; any change to a source, a header, a flag or the compiler is a new key.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FileError } from '../errors.ts';
import { runTool } from '../toolchain/tools.ts';
import { cacheDir } from './paths.ts';

const compilerIds = new Map<string, string>();

/** The compiler's identity for the cache key: its path and the first line of `--version`. */
export function compilerIdentity(compiler: string): string {
  let id = compilerIds.get(compiler);
  if (id === undefined) {
    const r = spawnSync(compiler, ['--version'], { encoding: 'utf8' });
    id = `${compiler}\n${(r.stdout ?? '').split('\n')[0] ?? ''}`;
    compilerIds.set(compiler, id);
  }
  return id;
}

export interface CachedObjects {
  /** One object per source, in the order of `sources`. */
  objects: string[];
  /** True when the objects came from the cache (nothing was compiled). */
  hit: boolean;
  /** The command that compiles them (run in the cache folder). */
  command: string[];
}

/**
 * Compiles `sources` (distinct file names) with `flags` into cached objects, or returns the
 * cached ones. `headers` are every file the sources may include, hashed into the key.
 */
export function compileCached(opts: { compiler: string; flags: string[]; sources: string[]; headers: string[]; what: string }): CachedObjects {
  const names = opts.sources.map((s) => basename(s));
  if (new Set(names).size !== names.length) throw new Error(`compileCached: two sources share a file name in ${names.join(' ')}`);
  const hash = createHash('sha256').update(compilerIdentity(opts.compiler)).update('\0').update(opts.flags.join('\0'));
  for (const p of [...opts.sources, ...[...opts.headers].sort()]) hash.update('\0').update(basename(p)).update('\0').update(readFileSync(p));
  const root = join(cacheDir(), 'objects');
  const dir = join(root, hash.digest('hex').slice(0, 24));
  const objects = names.map((n) => join(dir, n.replace(/\.c$/, '.o')));
  const command = [opts.compiler, ...opts.flags, '-c', ...opts.sources];
  if (existsSync(join(dir, 'done'))) return { objects, hit: true, command };
  try {
    mkdirSync(root, { recursive: true });
  } catch {
    throw new FileError(`cannot create the build cache ${root}: set TINYML_CACHE to a writable folder`);
  }
  // Compile in a private folder, then rename: a concurrent build never sees half the objects.
  const work = mkdtempSync(join(root, '.work-'));
  try {
    runTool(opts.compiler, command.slice(1), { cwd: work, what: opts.what });
    writeFileSync(join(work, 'done'), '');
    try {
      renameSync(work, dir);
    } catch {
      if (!existsSync(join(dir, 'done'))) throw new FileError(`could not store compiled objects in ${dir}: check that the cache folder is writable (TINYML_CACHE)`);
    }
  } finally {
    if (existsSync(work)) rmSync(work, { recursive: true, force: true });
  }
  return { objects, hit: false, command };
}
