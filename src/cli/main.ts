/**
 * The CLI: registers one thin command file per command and is the one place that turns an
 * outcome into an exit code. User errors (TinymlError) print one line, never a stack trace;
 * anything else is a tinyml bug and says so (stack only with TINYML_DEBUG=1).
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, TinymlError } from '../errors.ts';
import { commands, type CommandEntry } from './commands/index.ts';
import { printError, safe } from './output.ts';
import { createProgress } from './progress.ts';
import { setProgressSink } from '../progress.ts';

export async function main(argv: string[]): Promise<number> {
  exitQuietlyOnClosedPipe();
  const program = await createProgram(argv);
  // Progress bars for the long steps, on a terminal only (never with --json or in a pipe).
  const bar = createProgress({ json: argv.includes('--json') });
  setProgressSink((p) => {
    bar.update(p);
    if (p.done >= p.total) bar.stop();
  });
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.OK;
  } catch (e) {
    bar.stop();
    return reportError(e, argv.includes('--json'));
  } finally {
    bar.stop();
    setProgressSink(null);
  }
}

/** The commander program with the commands `argv` needs registered (all of them for help). */
export async function createProgram(argv: string[]): Promise<Command> {
  const program = new Command();
  program
    .name('tinyml')
    .description('Trained models (ONNX, TFLite) to Cortex-M microcontrollers, with the device report streamed back')
    .version('0.1.0')
    .exitOverride()
    // Commander's own usage errors ("error: unknown option ...") get the same prefix as ours,
    // on one line (its "(Did you mean --json?)" hint is the fix).
    .configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: (s, write) => write(`tinyml: ${safe(oneLine(s))}\n`) });
  for (const entry of commandsFor(argv)) (await entry.load()).register(program);
  return program;
}

/**
 * The commands to register: only the one named (so start-up loads only its modules), none for
 * a bare `--version`, all of them for help and for anything unknown (commander's "did you
 * mean" needs every name).
 */
function commandsFor(argv: string[]): CommandEntry[] {
  const args = argv.slice(2);
  const named = commands.find((c) => c.name === args[0]);
  if (named) return [named];
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) return [];
  return commands;
}

function reportError(e: unknown, json: boolean): number {
  if (e instanceof CommanderError) {
    // Commander already printed its message; help and --version are successes.
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return ExitCode.OK;
    if (json) {
      const message = oneLine(e.message).replace(/^error: /, '');
      process.stdout.write(JSON.stringify({ error: { kind: 'usage', message, exitCode: ExitCode.USAGE } }) + '\n');
    }
    return ExitCode.USAGE;
  }
  if (e instanceof TinymlError) {
    if (json) process.stdout.write(JSON.stringify({ error: { kind: e.kind, message: e.message, exitCode: e.exitCode } }) + '\n');
    printError(e.message);
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  process.stderr.write(`tinyml: internal error: ${safe(err.message)} (this is a tinyml bug; rerun with TINYML_DEBUG=1 and report it)\n`);
  if (process.env.TINYML_DEBUG) process.stderr.write(`${err.stack}\n`);
  return ExitCode.INTERNAL;
}

function oneLine(s: string): string {
  return s.trim().split('\n').map((l) => l.trim()).join(' ');
}

/** `tinyml inspect model | head` closes stdout early: that is the reader's choice, not an error. */
function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(ExitCode.OK);
      throw e;
    });
  }
}
