/**
 * Finding the pinned TensorFlow Lite Micro Arduino library (Chirale_TensorFLowLite, see
 * profiles.ts) on this machine, for building TFLM firmware for the emulated boards and for
 * measuring its arena. Looked for, in order:
 *
 *   1. `--tflm-lib <path>`
 *   2. the TINYML_TFLM_LIB environment variable
 *   3. the Arduino libraries folder, where `arduino-cli lib install` puts it:
 *      $ARDUINO_DIRECTORIES_USER/libraries, else ~/Arduino/libraries (Linux) and
 *      ~/Documents/Arduino/libraries (macOS, Windows)
 *
 * A path may name the library folder itself (the one with library.properties) or a folder of
 * libraries holding it. The library's library.properties must name the pinned library and
 * version: another version has another set of kernels and another arena, so it is refused with
 * the install line instead of being used.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { MissingToolError } from '../errors.ts';
import { TFLM_LIBRARY } from './profiles.ts';

export interface TflmLibrary {
  /** The library folder (holds library.properties and src/). */
  root: string;
  /** Its src/ folder: the include root and every source file. */
  src: string;
  name: string;
  version: string;
  /** sha256 of every source and header under src/ (paths and bytes): the build cache key. */
  contentHash: string;
  /** Where it was found: flag, env or arduino-libraries. */
  foundBy: 'flag' | 'env' | 'arduino-libraries';
}

export const TFLM_LIB_ENV = 'TINYML_TFLM_LIB';

export function tflmInstallLine(): string {
  return `arduino-cli lib install "${TFLM_LIBRARY.name}@${TFLM_LIBRARY.version}"`;
}

/** library.properties as key -> value. */
export function readLibraryProperties(dir: string): Record<string, string> | null {
  const file = join(dir, 'library.properties');
  if (!existsSync(file)) return null;
  const props: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const m = /^\s*([\w.]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) props[m[1]!] = m[2]!;
  }
  return props;
}

/** The Arduino libraries folders to look in, in order. */
export function arduinoLibraryDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = [];
  if (env['ARDUINO_DIRECTORIES_USER']) dirs.push(join(env['ARDUINO_DIRECTORIES_USER'], 'libraries'));
  const home = env['HOME'] ?? homedir();
  dirs.push(join(home, 'Arduino', 'libraries'), join(home, 'Documents', 'Arduino', 'libraries'));
  return dirs;
}

/** Library folders at `path`: the folder itself when it is a library, else its subfolders that are. */
function candidates(path: string): string[] {
  if (readLibraryProperties(path)) return [path];
  if (!existsSync(path) || !statSync(path).isDirectory()) return [];
  return readdirSync(path, { withFileTypes: true })
    .filter((d) => d.isDirectory() && readLibraryProperties(join(path, d.name)) !== null)
    .map((d) => join(path, d.name))
    .sort();
}

function isPinnedName(props: Record<string, string>): boolean {
  // arduino-cli matches library names case-insensitively; the registered one is Chirale_TensorFLowLite.
  return (props['name'] ?? '').toLowerCase() === TFLM_LIBRARY.name.toLowerCase();
}

const hashCache = new Map<string, string>();

/** sha256 over the relative path and bytes of every file under `dir` (sorted): the library's identity. */
export function treeHash(dir: string): string {
  const cached = hashCache.get(dir);
  if (cached) return cached;
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) h.update(`${relative(dir, p)}\0`).update(readFileSync(p)).update('\0');
    }
  };
  walk(dir);
  const hex = h.digest('hex');
  hashCache.set(dir, hex);
  return hex;
}

/**
 * The pinned library, or a MissingToolError (exit 9) saying where tinyml looked and the install
 * line. A library of the right name but another version is refused the same way.
 */
export function findTflmLibrary(opts: { path?: string; env?: NodeJS.ProcessEnv } = {}): TflmLibrary {
  const env = opts.env ?? process.env;
  const tried: { path: string; foundBy: TflmLibrary['foundBy'] }[] = [];
  if (opts.path) tried.push({ path: resolve(opts.path), foundBy: 'flag' });
  else if (env[TFLM_LIB_ENV]) tried.push({ path: resolve(env[TFLM_LIB_ENV]!), foundBy: 'env' });
  else for (const d of arduinoLibraryDirs(env)) tried.push({ path: d, foundBy: 'arduino-libraries' });

  const wrongVersions: string[] = [];
  for (const t of tried) {
    for (const dir of candidates(t.path)) {
      const props = readLibraryProperties(dir)!;
      if (!isPinnedName(props)) continue;
      if (props['version'] !== TFLM_LIBRARY.version) {
        wrongVersions.push(`${props['version'] ?? '?'} at ${dir}`);
        continue;
      }
      const src = join(dir, 'src');
      if (!existsSync(join(src, TFLM_LIBRARY.header))) {
        throw new MissingToolError(`${dir} has no src/${TFLM_LIBRARY.header}: the library is incomplete, reinstall it with \`${tflmInstallLine()}\``);
      }
      return { root: dir, src, name: props['name']!, version: props['version']!, contentHash: treeHash(src), foundBy: t.foundBy };
    }
  }
  const where = tried.map((t) => t.path).join(', ');
  if (wrongVersions.length > 0) {
    throw new MissingToolError(
      `found ${TFLM_LIBRARY.name} ${wrongVersions.join(', ')} but tinyml's TFLite Micro runtime needs ${TFLM_LIBRARY.version}: run \`${tflmInstallLine()}\` (or point --tflm-lib at a ${TFLM_LIBRARY.version} copy)`,
    );
  }
  throw new MissingToolError(
    `the TFLite Micro library ${TFLM_LIBRARY.name} ${TFLM_LIBRARY.version} was not found (looked in ${where}): run \`${tflmInstallLine()}\`, or pass --tflm-lib <path> or set ${TFLM_LIB_ENV}`,
  );
}
