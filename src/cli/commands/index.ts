/** Every command of the CLI, in the order `tinyml --help` lists them. One file per command. */
import type { Command } from 'commander';
import { register as boards } from './boards.ts';
import { register as inspect } from './inspect.ts';
import { register as infer } from './infer.ts';
import { register as run } from './run.ts';
import { register as monitor } from './monitor.ts';
import { register as deploy } from './deploy.ts';
import { register as convert } from './convert.ts';
import { register as evalCommand } from './eval.ts';
import { register as build } from './build.ts';
import { register as flash } from './flash.ts';
import { register as ci } from './ci.ts';

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [inspect, boards, infer, run, deploy, monitor, convert, evalCommand, build, flash, ci];
