/**
 * A command reads the model file once and hands the loaded model (bytes, hash, graph) down:
 * `deploy` used to read it four times (load, run, build, hash), `run` three. Counted by a
 * preloaded helper that wraps node:fs (test/fixtures/cli/count-reads.mjs) in the real binary.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT, sharedPath } from '../helpers/shared.ts';

const HELLO = sharedPath('models/tflm-hello-world/hello_world_int8.tflite');
const COUNTER = resolve(PROJECT_ROOT, 'test/fixtures/cli/count-reads.mjs');

function reads(args: string[]): { code: number; reads: number; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', COUNTER, resolve(PROJECT_ROOT, 'bin/tinyml.js'), ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { ...process.env, TINYML_COUNT_READS: HELLO },
    timeout: 120_000,
  });
  const m = /^reads=(\d+)$/m.exec(r.stderr);
  return { code: r.status ?? -1, reads: m ? Number(m[1]) : -1, stderr: r.stderr };
}

describe('the model file is read once per command', () => {
  const out = mkdtempSync(join(tmpdir(), 'tinyml-loads-once-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it.each([
    ['inspect', [HELLO]],
    ['build', [HELLO, '--board', 'mps2-an386', '--out', join(out, 'build')]],
    ['export', [HELLO, '--format', 'cmake', '--out', join(out, 'export')]],
    ['run', [HELLO, '--board', 'mps2-an386', '--runs', '1']],
    ['deploy', [HELLO, '--board', 'mps2-an386', '--runs', '1']],
  ])('%s', (command, args) => {
    const r = reads([command, ...args]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.reads).toBe(1);
  });

});
