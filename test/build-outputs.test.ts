/**
 * What a build leaves behind and reuses: firmware.bin and firmware.hex beside the ELF (the same
 * image), a generate-only project whose Makefile gives the identical firmware, the sources and
 * Makefile written when arm-none-eabi-gcc is missing (exit 9), kernel/runtime objects reused
 * from the one cache folder by a second build, no temporary folder left by run/deploy/emulator
 * infer, and nothing written into the current folder by `infer --engine native`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFirmware, type FirmwareBuild } from '../src/build/firmware.ts';
import { cacheDir } from '../src/build/paths.ts';
import { runCli } from './helpers/cli.ts';
import { sharedPath } from './helpers/shared.ts';

const WORK = mkdtempSync(join(tmpdir(), 'tinyml-build-outputs-'));
afterAll(() => rmSync(WORK, { recursive: true, force: true }));
const HELLO = sharedPath('models/tflm-hello-world/hello_world_int8.tflite');
const KWS = sharedPath('models/mlperf-tiny/kws/kws_ref_model.tflite');

/** Intel HEX records -> { address: byte } (types 00 data, 04 extended linear address). */
function hexImage(text: string): Map<number, number> {
  const bytes = new Map<number, number>();
  let base = 0;
  for (const line of text.split(/\r?\n/).filter(Boolean)) {
    expect(line[0]).toBe(':');
    const rec = Buffer.from(line.slice(1), 'hex');
    const sum = rec.reduce((a, b) => (a + b) & 0xff, 0);
    expect(sum, `checksum of ${line}`).toBe(0);
    const [len, type] = [rec[0]!, rec[3]!];
    const addr = rec.readUInt16BE(1);
    if (type === 0x04) base = rec.readUInt16BE(4) << 16;
    if (type === 0x00) for (let i = 0; i < len; i++) bytes.set(base + addr + i, rec[4 + i]!);
  }
  return bytes;
}

/** Temporary folders tinyml names tinyml-run-*, tinyml-deploy-*, tinyml-emulator-* in `dir`. */
function tinymlTemps(dir: string): string[] {
  return readdirSync(dir).filter((f) => /^tinyml-(run|deploy|emulator)-/.test(f)).sort();
}

describe('build outputs and the build cache', () => {
  let first: FirmwareBuild;

  it('writes firmware.bin and firmware.hex beside the ELF: the same bytes at the same addresses', () => {
    first = buildFirmware({ modelPath: HELLO, board: 'mps2-an386', outDir: join(WORK, 'first') });
    expect(first.hexPath).toBe(join(WORK, 'first', 'firmware.hex'));
    const bin = readFileSync(first.binPath);
    const hex = hexImage(readFileSync(first.hexPath, 'utf8'));
    const origin = Math.min(...hex.keys());
    expect(hex.size).toBe(bin.length);
    for (let i = 0; i < bin.length; i++) if (hex.get(origin + i) !== bin[i]) throw new Error(`byte ${i} differs between firmware.bin and firmware.hex`);
  });

  it('a second build of the same model links the cached kernel and runtime objects (same firmware)', () => {
    const objects = join(cacheDir(), 'objects');
    const before = readdirSync(objects).filter((d) => !d.startsWith('.')).map((d) => [d, statSync(join(objects, d, 'done')).mtimeMs] as const);
    const second = buildFirmware({ modelPath: HELLO, board: 'mps2-an386', outDir: join(WORK, 'second') });
    expect(second.cachedObjects).toBe(true);
    const after = readdirSync(objects).filter((d) => !d.startsWith('.')).map((d) => [d, statSync(join(objects, d, 'done')).mtimeMs] as const);
    expect(after).toEqual(before);
    expect(second.command.filter((a) => a.startsWith(objects) && a.endsWith('.o')).length).toBeGreaterThan(5);
    expect(readFileSync(second.binPath).equals(readFileSync(first.binPath))).toBe(true);
    // Other flags are another cache entry, never the objects of this one.
    const speed = buildFirmware({ modelPath: HELLO, board: 'mps2-an386', outDir: join(WORK, 'o2'), optimize: '2', profile: true });
    expect(speed.cachedObjects).toBe(false);
  });

  it('--generate-only writes a project whose Makefile builds the identical firmware.bin and .hex outside the repository', () => {
    const built = runCli(['build', KWS, '--board', 'mps2-an386', '--out', join(WORK, 'kws-built')]);
    expect(built.code, built.stderr).toBe(0);
    // The short flags every command shares (-b, -o, -O) mean what the long ones do.
    const gen = runCli(['build', KWS, '-b', 'mps2-an386', '-o', join(WORK, 'kws-gen'), '-O', '2', '--generate-only', '--json']);
    expect(gen.code, gen.stderr).toBe(0);
    const j = JSON.parse(gen.stdout) as { generatedOnly: boolean; files: string[] };
    expect(j.generatedOnly).toBe(true);
    expect(existsSync(join(WORK, 'kws-gen', 'firmware.elf'))).toBe(false);
    const copy = mkdtempSync(join(tmpdir(), 'tinyml-make-'));
    try {
      cpSync(join(WORK, 'kws-gen'), copy, { recursive: true });
      execFileSync('make', ['-s'], { cwd: copy, stdio: 'pipe' });
      expect(readFileSync(join(copy, 'firmware.bin')).equals(readFileSync(join(WORK, 'kws-built', 'firmware.bin')))).toBe(true);
      expect(readFileSync(join(copy, 'firmware.hex'), 'utf8')).toBe(readFileSync(join(WORK, 'kws-built', 'firmware.hex'), 'utf8'));
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('without arm-none-eabi-gcc, build writes the sources and the Makefile, then exits 9 with the install line', () => {
    const out = join(WORK, 'no-gcc');
    const r = runCli(['build', HELLO, '--board', 'mps2-an386', '--out', out], { env: { PATH: '/nonexistent' } });
    expect(r.code).toBe(9);
    expect(r.stderr).toMatch(/arm-none-eabi-gcc not found.*apt-get install gcc-arm-none-eabi.*Makefile are in .*no-gcc/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    for (const f of ['model.c', 'tml_input.c', 'Makefile', 'tinyml/runtime/tml_main.c', 'tinyml/platform/mps2-an386/linker.ld']) expect(existsSync(join(out, f)), f).toBe(true);
  });
});

describe('no folder left behind', () => {
  it('run and deploy without --out remove their temporary build folder; --keep keeps it and prints it', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tinyml-tmpdir-'));
    try {
      const env = { TMPDIR: tmp };
      const run = runCli(['run', HELLO, '--board', 'mps2-an386', '--runs', '1', '--json'], { env });
      expect(run.code, run.stderr).toBe(0);
      expect((JSON.parse(run.stdout) as { build: { outDir: string | null } }).build.outDir).toBeNull();
      const deploy = runCli(['deploy', HELLO, '--board', 'mps2-an386', '--runs', '1'], { env });
      expect(deploy.code, deploy.stderr).toBe(0);
      expect(tinymlTemps(tmp)).toEqual([]);
      const kept = runCli(['run', HELLO, '--board', 'mps2-an386', '--runs', '1', '--keep'], { env });
      expect(kept.code, kept.stderr).toBe(0);
      const temps = tinymlTemps(tmp);
      expect(temps).toHaveLength(1);
      expect(kept.stdout).toContain(`build       ${join(tmp, temps[0]!)}`);
      expect(existsSync(join(tmp, temps[0]!, 'firmware.hex'))).toBe(true);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('infer --engine native and --engine emulator write nothing into the current folder or the temporary folder', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tinyml-cwd-'));
    const tmp = mkdtempSync(join(tmpdir(), 'tinyml-tmpdir-'));
    const cache = mkdtempSync(join(tmpdir(), 'tinyml-own-cache-'));
    try {
      const input = join(tmp, 'x.bin');
      spawnSync('sh', ['-c', `head -c 1 /dev/zero > ${input}`]);
      const outputs = join(tmp, 'outputs');
      mkdirSync(outputs);
      for (const engine of ['native', 'emulator']) {
        const r = runCli(['infer', HELLO, '--engine', engine, '--input', input, '--out', outputs, '--json'], { cwd, env: { TMPDIR: tmp, TINYML_CACHE: cache } });
        expect(r.code, `${engine}: ${r.stderr}`).toBe(0);
      }
      expect(readdirSync(cwd)).toEqual([]);
      expect(tinymlTemps(tmp)).toEqual([]);
      // The compiled host runner went to the cache folder.
      expect(readdirSync(cache).length).toBeGreaterThan(0);
    } finally {
      for (const d of [cwd, tmp, cache]) rmSync(d, { recursive: true, force: true });
    }
  });
});
