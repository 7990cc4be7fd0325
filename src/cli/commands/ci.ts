/**
 * `tinyml ci init --github|--gitlab --model <file>... --board <id>...`: a CI workflow plus
 * tinyml.ci.json for the user's repository. `tinyml ci robot <model> --board <id>`: a Robot
 * Framework suite (.robot + .resc) for Renode's renode-test. Both in src/ci/.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';
import { ciInit, type CiProvider } from '../../ci/init.ts';
import { writeRobotSuite } from '../../ci/robot.ts';
import { printJson, printLine } from '../output.ts';
import { intOption } from './run.ts';

export function register(program: Command): void {
  const ci = program.command('ci').description('CI for your repository: workflows that build and run firmware in Renode with budgets, and Robot suites for renode-test');
  ci.command('init')
    .description('write a GitHub Actions or GitLab CI workflow (models x boards in Renode, budgets, JUnit) and tinyml.ci.json')
    .option('--github', 'write .github/workflows/tinyml.yml')
    .option('--gitlab', 'write .gitlab-ci.yml')
    .option('-m, --model <file...>', 'models of the matrix (inside the repository)')
    .option('-b, --board <id...>', 'boards of the matrix (emulated: nano33ble, stm32f4-discovery, disco-f746ng, ...)')
    .option('--dir <path>', 'repository root to write into (default: the current folder)')
    .option('--tinyml-package <spec>', 'npm spec that installs tinyml in CI (default: where this tinyml came from: its registry version, or git+<origin>#<commit> of a checkout)')
    .option('--max-instructions <n>', 'budget for every model and board: instructions per inference')
    .option('--max-stack <bytes>', 'budget for every model and board: stack high-water mark')
    .option('--force', 'overwrite an existing workflow or tinyml.ci.json')
    .option('--json', 'print the result as JSON')
    .action((opts: { github?: boolean; gitlab?: boolean; model?: string[]; board?: string[]; dir?: string; tinymlPackage?: string; maxInstructions?: string; maxStack?: string; force?: boolean; json?: boolean }) => {
      if (opts.github === opts.gitlab) throw new UsageError('ci init writes one workflow: pass --github or --gitlab');
      const provider: CiProvider = opts.github ? 'github' : 'gitlab';
      const r = ciInit({
        provider,
        models: opts.model ?? [],
        boards: opts.board ?? [],
        dir: opts.dir,
        tinymlPackage: opts.tinymlPackage,
        maxInstructions: intOption('--max-instructions', opts.maxInstructions),
        maxStack: intOption('--max-stack', opts.maxStack),
        force: opts.force,
      });
      if (opts.json) return printJson(r);
      const count = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;
      printLine(`wrote ${r.workflowPath} (${count(r.jobs.length, 'job')}: ${count(r.config.models.length, 'model')} x ${count(r.config.boards.length, 'board')} in ${r.config.emulator === 'renode' ? 'Renode' : 'QEMU'}; tinyml from ${r.tinymlPackage})`);
      printLine(`wrote ${r.configPath} (budgets: flash and arena measured +10 %; edit it to tighten them)`);
    });
  ci.command('robot')
    .description('write a Robot Framework suite (.robot + .resc) that runs the model\'s firmware in Renode and checks its hello and done records')
    .argument('<model>', 'int8 .tflite or .onnx model')
    .requiredOption('-b, --board <id>', 'Renode board: nano33ble | nano33ble-sense | stm32f4-discovery | disco-f746ng')
    .option('-o, --out <dir>', 'output folder (default: renode/<model>-<board>)')
    .option('-i, --input <file...>', 'input file per model input, baked into the firmware')
    .option('--timeout <s>', 'seconds renode-test waits for each line (default 120)')
    .option('--json', 'print the result as JSON')
    .action((model: string, opts: { board: string; out?: string; input?: string[]; timeout?: string; json?: boolean }) => {
      const r = writeRobotSuite({ model, board: opts.board, out: opts.out, inputs: opts.input, timeoutS: intOption('--timeout', opts.timeout) });
      if (opts.json) return printJson(r);
      printLine(`wrote ${r.robotPath}`);
      printLine(`wrote ${r.rescPath} (firmware ${r.elfPath}, model ${r.modelHash})`);
      printLine(`run it with: ${r.command}`);
    });
}
