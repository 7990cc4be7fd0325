/**
 * The docs never contradict the CLI: every example command of README.md and docs/*.md names a
 * real command with options it accepts (commander parses it; actions not run), every option a
 * usage synopsis shows exists, and every example that can run here (its files exist, no board on
 * USB) runs, exits 0 and prints the lines its page shows, in that order (numbers, paths and
 * values may differ; `...` in a page elides lines).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { createProgram } from '../../src/cli/main.ts';
import { loadBoards } from '../../src/boards/registry.ts';
import { docCommands, docPages, lineLabel, type DocCommand } from '../helpers/doc-commands.ts';
import { PROJECT_ROOT, SHARED } from '../helpers/shared.ts';

const ALL = docPages().flatMap(docCommands);

/** Every (sub)command of a program, with the path of names that reaches it. */
function commandsOf(program: Command): Command[] {
  const out: Command[] = [];
  const walk = (c: Command) => {
    for (const sub of c.commands) {
      out.push(sub);
      walk(sub);
    }
  };
  walk(program);
  return out;
}

/** Parses `args` with every action replaced by a no-op: commander's own validation only. */
async function parses(args: string[]): Promise<string | null> {
  const program = await createProgram(['node', 'tinyml', ...args]);
  for (const c of [program, ...commandsOf(program)]) {
    c.exitOverride();
    c.configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
    if (c !== program) c.action(() => {});
  }
  try {
    await program.parseAsync(['node', 'tinyml', ...args]);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

describe('every example command in README.md and docs/', () => {
  it('finds the examples (README and every command page have some)', () => {
    expect(ALL.length).toBeGreaterThan(30);
    for (const page of ['README.md', 'docs/run.md', 'docs/export.md', 'docs/inspect.md', 'docs/infer.md']) {
      expect(ALL.some((c) => c.where.startsWith(`${page}:`)), page).toBe(true);
    }
  });

  it('names a real command and only options it accepts', async () => {
    const failures: string[] = [];
    for (const c of ALL.filter((x) => !x.synopsis)) {
      // A redirection is the shell's, not tinyml's.
      const args = c.args.slice(0, c.args.findIndex((a) => a === '>') >>> 0);
      const err = await parses(args);
      if (err) failures.push(`${c.where}: tinyml ${c.line}: ${err}`);
    }
    expect(failures).toEqual([]);
  });

  it('every option a usage synopsis shows is an option of that command', async () => {
    const program = await createProgram(['node', 'tinyml', '--help']);
    const failures: string[] = [];
    for (const c of ALL.filter((x) => x.synopsis)) {
      const cmd = program.commands.find((x) => x.name() === c.args[0]);
      if (!cmd) {
        failures.push(`${c.where}: no command ${c.args[0]}`);
        continue;
      }
      const known = new Set(cmd.options.flatMap((o) => [o.long, o.short]).filter(Boolean));
      for (const flag of c.line.match(/(?<![\w-])--?[a-zA-Z][\w-]*/g) ?? []) {
        if (!known.has(flag) && flag !== '--help') failures.push(`${c.where}: ${c.args[0]} has no option ${flag}`);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('the example commands that run here', () => {
  // A sandbox laid out like a checkout: examples/ and ../shared where the docs expect them,
  // so outputs (--out lib/kws, out/) land in the sandbox, not the repository.
  const sandbox = mkdtempSync(join(tmpdir(), 'tinyml-docs-'));
  const cwd = join(sandbox, 'repo');
  mkdirSync(cwd);
  symlinkSync(resolve(PROJECT_ROOT, 'examples'), join(cwd, 'examples'));
  symlinkSync(SHARED, join(sandbox, 'shared'));
  afterAll(() => rmSync(sandbox, { recursive: true, force: true }));

  const qemuBoards = new Set(loadBoards().filter((b) => b.emulation.qemu).map((b) => b.id));
  const looksLikeFile = (a: string) => !a.startsWith('-') && (/\.(tflite|onnx|bin|npy|npz|json)$/.test(a) || a.includes('/'));
  /** Why an example cannot run here, or null when it can. */
  function whyNot(c: DocCommand): string | null {
    const [name, ...rest] = c.args;
    if (name === 'monitor' || name === 'flash') return 'talks to a board on USB';
    if (c.line.includes('$')) return 'a shell template';
    const board = rest[rest.indexOf('--board') + 1];
    // Commands that run the model on the board need QEMU here (Renode and USB boards are slow or absent).
    if (['run', 'deploy', 'infer', 'eval', 'ci'].includes(name!) && rest.includes('--board') && !qemuBoards.has(board!)) return `board ${board} (Renode or a USB board)`;
    const outputs = new Set(['--out', '-o', '--junit', '--jsonl'].flatMap((o) => (rest.includes(o) ? [rest[rest.indexOf(o) + 1]] : [])));
    const missing = rest.filter((a) => looksLikeFile(a) && !outputs.has(a) && !existsSync(resolve(cwd, a)));
    return missing.length > 0 ? `placeholder file ${missing[0]}` : null;
  }

  const runnable = ALL.filter((c) => !c.synopsis && whyNot(c) === null);
  // The README's first command prints the block introduced by "What the first command prints".
  const readme = readFileSync(resolve(PROJECT_ROOT, 'README.md'), 'utf8');
  const readmeOutput = /What the first command prints[\s\S]*?\n```\n([\s\S]*?)```/.exec(readme)?.[1]?.trimEnd().split('\n') ?? null;
  const first = ALL.find((c) => c.where.startsWith('README.md:'))!;
  first.output ??= readmeOutput;

  it('include the README\'s first command and the run, inspect and export pages', () => {
    const where = runnable.map((c) => c.where.split(':')[0]);
    for (const page of ['README.md', 'docs/run.md', 'docs/inspect.md', 'docs/export.md']) expect(where, page).toContain(page);
  });

  it.each(runnable.map((c) => [c.where, c] as const))('%s runs and prints what its page shows', (_, c) => {
    const r = spawnSync(process.execPath, [resolve(PROJECT_ROOT, 'bin/tinyml.js'), ...c.args], { cwd, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, `tinyml ${c.line}\n${r.stderr}`).toBe(0);
    if (!c.output) return;
    const actual = r.stdout.split('\n').map(lineLabel).filter((l): l is string => l !== null);
    let at = 0;
    for (const label of c.output.map(lineLabel).filter((l): l is string => l !== null)) {
      const found = actual.indexOf(label, at);
      expect(found, `'${label}' (documented at ${c.where}) missing or out of order in:\n${r.stdout}`).toBeGreaterThanOrEqual(0);
      at = found + 1;
    }
  }, 300_000);
});
