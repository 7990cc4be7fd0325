/**
 * Every command of the CLI, in the order `tinyml --help` lists them. One file per command,
 * loaded only when needed (src/cli/main.ts): `tinyml inspect` loads the inspect command and
 * what it imports, never the compilers, emulators or serial ports of the others.
 */
import type { Command } from 'commander';

export type RegisterCommand = (program: Command) => void;

export interface CommandEntry {
  name: string;
  load: () => Promise<{ register: RegisterCommand }>;
}

export const commands: CommandEntry[] = [
  { name: 'inspect', load: () => import('./inspect.ts') },
  { name: 'boards', load: () => import('./boards.ts') },
  { name: 'infer', load: () => import('./infer.ts') },
  { name: 'run', load: () => import('./run.ts') },
  { name: 'deploy', load: () => import('./deploy.ts') },
  { name: 'monitor', load: () => import('./monitor.ts') },
  { name: 'convert', load: () => import('./convert.ts') },
  { name: 'eval', load: () => import('./eval.ts') },
  { name: 'build', load: () => import('./build.ts') },
  { name: 'export', load: () => import('./export.ts') },
  { name: 'flash', load: () => import('./flash.ts') },
  { name: 'bench', load: () => import('./bench.ts') },
  { name: 'ci', load: () => import('./ci.ts') },
];
