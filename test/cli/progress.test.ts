/**
 * Long steps show progress on a terminal and nowhere else: under script(1) (a real pty) `run`
 * draws its build and emulation bars and `eval` its per-sample bar; in a pipe, or with --json,
 * stderr stays empty and stdout is only the result.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { encodeNpy } from '../../src/data/npy.ts';
import { runCli } from '../helpers/cli.ts';
import { PROJECT_ROOT, sharedPath } from '../helpers/shared.ts';

const HELLO = sharedPath('models/tflm-hello-world/hello_world_int8.tflite');
const HELLO_FLOAT = sharedPath('models/tflm-hello-world/hello_world_float.tflite');
const WORK = mkdtempSync(join(tmpdir(), 'tinyml-progress-'));
afterAll(() => rmSync(WORK, { recursive: true, force: true }));

/** Runs tinyml on a pseudo-terminal (script(1)) and returns what the terminal showed. */
function onTerminal(args: string[]): string {
  const cmd = [process.execPath, resolve(PROJECT_ROOT, 'bin/tinyml.js'), ...args].map((a) => `'${a}'`).join(' ');
  return execFileSync('script', ['-qec', cmd, '/dev/null'], { cwd: PROJECT_ROOT, encoding: 'utf8', env: { ...process.env, COLUMNS: '120' }, timeout: 120_000 });
}

describe('progress bars', () => {
  it('run: the build and the emulation on a terminal; nothing on stderr in a pipe or with --json', () => {
    const args = ['run', HELLO, '--board', 'mps2-an386', '--runs', '2', '--out', join(WORK, 'run')];
    const tty = onTerminal(args);
    expect(tty).toMatch(/building firmware for mps2-an386 .*\d\/4/);
    expect(tty).toMatch(/running on mps2-an386 \(qemu\) .*\d\/2/);
    expect(tty).toMatch(/latency/);
    const piped = runCli(args);
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe('');
    expect(piped.stdout).not.toMatch(/building firmware|running on|\r/);
    const json = onTerminal([...args, '--json']);
    expect(json).not.toMatch(/building firmware|running on/);
  });

  it('eval: one step per sample on a terminal, none in a pipe', () => {
    const data = join(WORK, 'x.npy');
    writeFileSync(data, encodeNpy({ dtype: 'float32', shape: [32, 1], data: Float32Array.from({ length: 32 }, (_, i) => i / 5) }));
    const args = ['eval', HELLO_FLOAT, '--data', data, '--calib', data];
    expect(onTerminal(args)).toMatch(/evaluating float vs int8 .*\d+\/32/);
    const piped = runCli(args);
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe('');
  });
});
