/**
 * Every command's `--json` output is described in its docs page, under "JSON output of
 * `tinyml <command>`", and the description is true: the keys the page lists (first column of the
 * table there) are exactly the top-level keys the command prints. And one vocabulary: every key
 * tinyml itself names is camelCase (the device's own report records, passed through by
 * `monitor`, keep the protocol's snake_case: docs/protocol.md).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { encodeNpy } from '../../src/data/npy.ts';
import { PROJECT_ROOT, sharedPath } from '../helpers/shared.ts';

const WORK = mkdtempSync(join(tmpdir(), 'tinyml-docs-json-'));
afterAll(() => rmSync(WORK, { recursive: true, force: true }));
const HELLO = sharedPath('models/tflm-hello-world/hello_world_int8.tflite');
const HELLO_FLOAT = sharedPath('models/tflm-hello-world/hello_world_float.tflite');

/** The keys a page documents for `tinyml <command>`: backticked names in the first column of the table under its heading. */
function documentedKeys(page: string, command: string): string[] {
  const lines = readFileSync(resolve(PROJECT_ROOT, page), 'utf8').split('\n');
  const start = lines.findIndex((l) => /^#+ JSON output of /.test(l) && l.includes(`\`tinyml ${command}\``));
  if (start < 0) return [];
  const keys: string[] = [];
  let inTable = false;
  for (const line of lines.slice(start + 1)) {
    if (/^#/.test(line) || (inTable && !line.startsWith('|'))) break; // the first table only
    if (!line.startsWith('|')) continue;
    inTable = true;
    if (/^\|\s*(key|-)/.test(line)) continue;
    const first = line.split('|')[1] ?? '';
    keys.push(...[...first.matchAll(/`([A-Za-z][\w]*)`/g)].map((m) => m[1]!));
  }
  return keys;
}

function json(args: string[], cwd = PROJECT_ROOT): unknown {
  const r = spawnSync(process.execPath, [resolve(PROJECT_ROOT, 'bin/tinyml.js'), ...args, '--json'], { cwd, encoding: 'utf8', timeout: 300_000 });
  expect(r.status, `tinyml ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout);
}

/** Every key below `value` that is not camelCase, as a path; `skip` names subtrees to pass over. */
function nonCamel(value: unknown, path = '', skip: (p: string) => boolean = () => false): string[] {
  if (skip(path)) return [];
  if (Array.isArray(value)) return value.flatMap((v) => nonCamel(v, `${path}[]`, skip));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [
    // Keys that are data (column ids such as 'device:mps2-an386', tensor or budget names) are exempt when the page says so.
    ...(/^[a-z][a-zA-Z0-9]*$/.test(k) || skip(`${path}.${k}:key`) ? [] : [`${path}.${k}`]),
    ...nonCamel(v, `${path}.${k}`, skip),
  ]);
}

const topKeys = (v: unknown): string[] => (Array.isArray(v) ? [...new Set(v.flatMap((x) => Object.keys(x as object)))] : Object.keys(v as object)).sort();

describe('JSON output: documented, true, camelCase', () => {
  const calib = join(WORK, 'calib.npy');
  writeFileSync(calib, encodeNpy({ dtype: 'float32', shape: [16, 1], data: Float32Array.from({ length: 16 }, (_, i) => (i / 15) * 6.28) }));
  const input = join(WORK, 'x.bin');
  writeFileSync(input, new Uint8Array(1));
  const ciRepo = join(WORK, 'repo');
  mkdirSync(join(ciRepo, 'models'), { recursive: true });
  copyFileSync(HELLO, join(ciRepo, 'models', 'hello.tflite'));

  // dataKeys: paths of keys that are data, not names tinyml chose (backend and column ids, budget
  // keys "model@board", a model file's metadata); optional: documented keys printed only with an option.
  const cases: { command: string; page: string; args: string[]; cwd?: string; extraKeys?: { page: string; command: string }; dataKeys?: RegExp; optional?: string[] }[] = [
    { command: 'inspect', page: 'docs/inspect.md', args: ['inspect', HELLO, '--board', 'nano33ble'], dataKeys: /^\.model\.meta\.|^\.opSet\[\]\.backends\..*:key$/ },
    { command: 'boards', page: 'docs/boards.md', args: ['boards'] },
    { command: 'infer', page: 'docs/infer.md', args: ['infer', HELLO, '--input', input] },
    { command: 'build', page: 'docs/native.md', args: ['build', HELLO, '--board', 'mps2-an386', '--out', join(WORK, 'build')] },
    { command: 'export', page: 'docs/export.md', args: ['export', HELLO, '--out', join(WORK, 'export')] },
    { command: 'eval', page: 'docs/eval.md', args: ['eval', HELLO_FLOAT, '--data', calib, '--calib', calib], dataKeys: /^\.(accuracy|outputs\[\]\.engines|layers\.rows\[\]\.engines|layers\.firstDivergence)\..*:key$/, optional: ['device'] },
    { command: 'run', page: 'docs/run.md', args: ['run', HELLO, '--board', 'mps2-an386', '--runs', '1'] },
    { command: 'deploy', page: 'docs/run.md', args: ['deploy', HELLO, '--board', 'mps2-an386', '--runs', '1'], extraKeys: { page: 'docs/run.md', command: 'run' } },
    { command: 'ci init', page: 'docs/renode.md', args: ['ci', 'init', '--github', '--tinyml-package', 'git+https://example.com/tinyml.git#main', '--model', 'models/hello.tflite', '--board', 'mps2-an386'], cwd: ciRepo, dataKeys: /^\.config\.budgets\..*:key$/ },
    { command: 'bench', page: 'docs/run.md', args: ['bench', HELLO, '--runs', '1'] },
    { command: 'ci robot', page: 'docs/renode.md', args: ['ci', 'robot', HELLO, '--board', 'nano33ble', '--out', join(WORK, 'robot')] },
  ];

  it.each(cases.map((c) => [c.command, c] as const))('tinyml %s', (_, c) => {
    const documented = documentedKeys(c.page, c.command);
    expect(documented.length, `${c.page} has no "JSON output of \`tinyml ${c.command}\`" table`).toBeGreaterThan(0);
    const extra = c.extraKeys ? documentedKeys(c.extraKeys.page, c.extraKeys.command) : [];
    const out = json(c.args, c.cwd);
    const expected = [...new Set([...documented, ...extra])].filter((k) => !(c.optional ?? []).includes(k) || topKeys(out).includes(k));
    expect(topKeys(out)).toEqual(expected.sort());
    expect(nonCamel(out, '', (p) => (c.dataKeys ? c.dataKeys.test(p) : false))).toEqual([]);
  }, 300_000);

  it('tinyml monitor: JSON lines, each with one documented key (board double on a pty)', async () => {
    const documented = documentedKeys('docs/run.md', 'monitor');
    expect(documented).toEqual(['record', 'log', 'rejected', 'event', 'summary']);
    const link = join(WORK, 'ttyDOUBLE');
    const double = spawn('python3', [resolve(PROJECT_ROOT, 'test/fixtures/firmware/board-double.py'), link, 'vanish'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((ok, fail) => {
        double.stdout!.once('data', (d: Buffer) => (d.toString().startsWith('READY') ? ok() : fail(new Error(d.toString()))));
        double.once('exit', (code) => fail(new Error(`board double exited ${code}`)));
      });
      const r = spawnSync(process.execPath, [resolve(PROJECT_ROOT, 'bin/tinyml.js'), 'monitor', '--port', link, '--duration', '3', '--json'], { encoding: 'utf8', timeout: 60_000 });
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.some((l) => 'record' in l)).toBe(true);
      for (const l of lines) expect(documented, JSON.stringify(l)).toContain(Object.keys(l)[0]);
      const summary = lines.at(-1)!['summary'];
      expect(summary).toBeDefined();
      expect(nonCamel(summary)).toEqual([]);
    } finally {
      double.kill('SIGKILL');
    }
  }, 60_000);
});
