/**
 * `tinyml ci init --github|--gitlab --model <file>... --board <id>...`: writes a CI workflow for
 * the user's repository and the tinyml.ci.json it reads.
 *
 * The workflow installs Node 20, tinyml (npm), arm-none-eabi-gcc (Debian/Ubuntu packages) and
 * Renode (the official portable Linux release, which bundles its runtime); then, for every model x
 * board of a matrix, builds the firmware and runs it in the emulator with the budgets of
 * tinyml.ci.json (`tinyml run --budgets`), and publishes the JUnit XML, the JSON report and the
 * JSONL record log (plus the firmware) as artifacts. A failed run is annotated (GitHub: an
 * `::error` line with tinyml's one-line error; GitLab: the JUnit report in the merge request).
 *
 * Budgets are measured at init: every pair is built once (no emulation) and maxFlash / maxArena
 * get 10 % headroom over what the build uses; `--max-instructions` and `--max-stack` apply to every
 * pair. Edit tinyml.ci.json to tighten them per model and board.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import { FileError, UsageError } from '../errors.ts';
import { getBoard } from '../boards/registry.ts';
import { buildFirmware } from '../build/firmware.ts';
import { emulatorFor } from '../emulate/runner.ts';
import { PROJECT_ROOT } from '../build/paths.ts';
import { CI_CONFIG_FILE, type BudgetSet, type CiConfig } from './config.ts';

export type CiProvider = 'github' | 'gitlab';
/** The Renode release the workflows install (official portable Linux build). */
export const RENODE_RELEASE = '1.15.3';
export const RENODE_RELEASE_URL = `https://github.com/renode/renode/releases/download/v${RENODE_RELEASE}/renode-${RENODE_RELEASE}.linux-portable.tar.gz`;
/** Headroom over the measured flash and arena bytes. */
export const BUDGET_HEADROOM = 1.1;

export interface CiInitOptions {
  provider: CiProvider;
  models: string[];
  boards: string[];
  /** Repository root to write into (default: the current folder). */
  dir?: string;
  /** npm spec that installs tinyml in CI (default: where this tinyml came from, see tinymlSource). */
  tinymlPackage?: string;
  maxInstructions?: number;
  maxStack?: number;
  /** Overwrite existing files. */
  force?: boolean;
}

export interface CiInitResult {
  provider: CiProvider;
  workflowPath: string;
  configPath: string;
  config: CiConfig;
  /** The matrix: one job per model x board. */
  jobs: { model: string; board: string }[];
  /** The npm spec the workflow installs tinyml with. */
  tinymlPackage: string;
}

/**
 * Where CI can install this very tinyml from: an installed package (under node_modules) is
 * `tinyml@<version>` from the registry it came from; a git checkout with a remote is
 * `git+<remote>#<commit>` (npm builds dist/ through `prepare`). Null when neither holds (a
 * checkout without a remote): CI could not install it, so the user must say where.
 */
export function tinymlSource(root: string = PROJECT_ROOT): string | null {
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  if (root.split(/[\\/]/).includes('node_modules')) return `tinyml@${version}`;
  try {
    const git = (...args: string[]) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const url = git('remote', 'get-url', 'origin');
    if (!/^(https?|ssh|git):\/\/|^[\w.-]+@[\w.-]+:/.test(url)) return null; // a local path is not reachable from CI
    return `git+${url.startsWith('git@') ? `ssh://${url.replace(':', '/')}` : url}#${git('rev-parse', 'HEAD')}`;
  } catch {
    return null;
  }
}

/** The shell commands of one matrix job after the tools are installed: build, run, report. */
export function jobScript(provider: CiProvider): string[] {
  return [
    'NAME="$(basename "$MODEL" | tr -c \'A-Za-z0-9_.\\n-\' _)-$BOARD"',
    'mkdir -p reports firmware',
    `tinyml run "$MODEL" --board "$BOARD" --emulator "$TINYML_EMULATOR" --budgets tinyml.ci.json --out "firmware/$NAME" --junit "reports/$NAME.xml" --jsonl "reports/$NAME.jsonl" --json > "reports/$NAME.json" 2> "reports/$NAME.log" || STATUS=$?`,
    'cat "reports/$NAME.log"',
    provider === 'github'
      ? 'if [ -n "${STATUS:-}" ]; then echo "::error title=tinyml $MODEL on $BOARD (exit $STATUS)::$(grep -m1 \'^tinyml: error:\' "reports/$NAME.log" || tail -n1 "reports/$NAME.log")"; exit "$STATUS"; fi'
      : 'if [ -n "${STATUS:-}" ]; then echo "tinyml $MODEL on $BOARD failed (exit $STATUS): $(grep -m1 \'^tinyml: error:\' "reports/$NAME.log" || tail -n1 "reports/$NAME.log")"; exit "$STATUS"; fi',
  ];
}

const INSTALL_ARM = 'sudo apt-get update && sudo apt-get install -y --no-install-recommends gcc-arm-none-eabi libnewlib-arm-none-eabi';
const INSTALL_RENODE = [
  'mkdir -p "$HOME/renode"',
  `curl -fsSL "${RENODE_RELEASE_URL}" | tar -xz -C "$HOME/renode" --strip-components=1`,
];

export function githubWorkflow(o: { models: string[]; boards: string[]; emulator: string; tinymlPackage: string }): string {
  const workflow = {
    name: 'tinyml firmware',
    on: { push: null, pull_request: null },
    jobs: {
      firmware: {
        name: '${{ matrix.model }} on ${{ matrix.board }}',
        'runs-on': 'ubuntu-24.04',
        strategy: { 'fail-fast': false, matrix: { model: o.models, board: o.boards } },
        env: { MODEL: '${{ matrix.model }}', BOARD: '${{ matrix.board }}', TINYML_EMULATOR: o.emulator, TINYML_PACKAGE: o.tinymlPackage },
        steps: [
          { uses: 'actions/checkout@v4' },
          { uses: 'actions/setup-node@v4', with: { 'node-version': 20 } },
          { name: 'Install tinyml', run: 'npm install --global "$TINYML_PACKAGE"' },
          { name: 'Install arm-none-eabi-gcc', run: INSTALL_ARM },
          ...(o.emulator === 'renode'
            ? [{ name: `Install Renode ${RENODE_RELEASE}`, run: [...INSTALL_RENODE, 'echo "RENODE=$HOME/renode/renode" >> "$GITHUB_ENV"'].join('\n') + '\n' }]
            : [{ name: 'Install QEMU', run: 'sudo apt-get install -y --no-install-recommends qemu-system-arm' }]),
          { name: 'Build and run in the emulator', id: 'run', run: jobScript('github').join('\n') + '\n' },
          {
            name: 'Publish reports',
            if: 'always()',
            uses: 'actions/upload-artifact@v4',
            with: { name: 'tinyml-${{ strategy.job-index }}', path: 'reports/\nfirmware/\n', 'if-no-files-found': 'warn' },
          },
        ],
      },
    },
  };
  return `# Written by \`tinyml ci init --github\`: every model x board is built and run in the emulator with\n# the budgets of tinyml.ci.json (docs/renode.md). Edit the matrix and budgets freely.\n${stringify(workflow, { lineWidth: 0 })}`;
}

export function gitlabPipeline(o: { models: string[]; boards: string[]; emulator: string; tinymlPackage: string }): string {
  const pipeline = {
    stages: ['test'],
    'tinyml-firmware': {
      stage: 'test',
      image: 'node:20-bookworm',
      variables: { TINYML_EMULATOR: o.emulator, TINYML_PACKAGE: o.tinymlPackage },
      parallel: { matrix: [{ MODEL: o.models, BOARD: o.boards }] },
      before_script: [
        'apt-get update && apt-get install -y --no-install-recommends gcc-arm-none-eabi libnewlib-arm-none-eabi' + (o.emulator === 'qemu' ? ' qemu-system-arm' : ''),
        ...(o.emulator === 'renode' ? [...INSTALL_RENODE, 'export RENODE="$HOME/renode/renode"'] : []),
        'npm install --global "$TINYML_PACKAGE"',
      ],
      script: jobScript('gitlab'),
      artifacts: { when: 'always', paths: ['reports/', 'firmware/'], reports: { junit: 'reports/*.xml' } },
    },
  };
  return `# Written by \`tinyml ci init --gitlab\`: every model x board is built and run in the emulator with\n# the budgets of tinyml.ci.json (docs/renode.md). Edit the matrix and budgets freely.\n${stringify(pipeline, { lineWidth: 0 })}`;
}

function refuseExisting(path: string, force: boolean): void {
  if (existsSync(path) && !force) throw new UsageError(`${path} exists: pass --force to overwrite it`);
}

function writeFile(path: string, text: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  } catch (e) {
    throw new FileError(`cannot write ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'}): choose a writable folder with --dir`);
  }
}

export function ciInit(opts: CiInitOptions): CiInitResult {
  if (opts.models.length === 0) throw new UsageError('ci init needs at least one model: pass --model <file> (repeatable)');
  if (opts.boards.length === 0) throw new UsageError('ci init needs at least one board: pass --board <id> (repeatable; tinyml boards lists them)');
  const dir = resolve(opts.dir ?? '.');
  // Every board must be emulated; Renode when any board needs it (it runs every board it has).
  const boards = opts.boards.map((id) => getBoard(id));
  const renode = boards.every((b) => b.emulation.renode !== null);
  const emulator = renode ? 'renode' : 'qemu';
  for (const b of boards) emulatorFor(b, { emulator });
  const models = opts.models.map((m) => {
    const abs = resolve(m);
    if (!existsSync(abs)) throw new FileError(`model ${m} not found: check the path`);
    const rel = relative(dir, abs);
    if (rel.startsWith('..')) throw new UsageError(`model ${m} is outside ${dir}: CI checks out the repository, so the model must be inside it`);
    return rel.split('\\').join('/');
  });
  const tinymlPackage = opts.tinymlPackage ?? tinymlSource();
  if (tinymlPackage === null) {
    throw new UsageError(
      `the workflow must install tinyml, but this tinyml (${PROJECT_ROOT}) is a checkout without a git remote and tinyml is not on the npm registry: ` +
        'pass --tinyml-package <npm spec>: a git URL (git+https://host/you/tinyml.git#<commit>), a tarball URL (from npm pack) or a name in your registry',
    );
  }

  const budgets: Record<string, BudgetSet> = {};
  const shared: BudgetSet = {};
  if (opts.maxInstructions !== undefined) shared.maxInstructions = opts.maxInstructions;
  if (opts.maxStack !== undefined) shared.maxStack = opts.maxStack;
  if (Object.keys(shared).length > 0) budgets['*'] = shared;
  const scratch = mkdtempSync(join(tmpdir(), 'tinyml-ci-init-'));
  try {
    for (const model of models) {
      for (const board of boards) {
        const fw = buildFirmware({ modelPath: join(dir, model), board: board.id, outDir: join(scratch, `${board.id}`), optimize: '2', runs: 1 });
        budgets[`${model}@${board.id}`] = {
          maxFlash: Math.ceil(fw.sizes.flashUsed * BUDGET_HEADROOM),
          maxArena: Math.ceil(fw.arenaBytes * BUDGET_HEADROOM),
        };
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const config: CiConfig = { emulator, models, boards: boards.map((b) => b.id), budgets };
  const configPath = join(dir, CI_CONFIG_FILE);
  const workflowPath = opts.provider === 'github' ? join(dir, '.github', 'workflows', 'tinyml.yml') : join(dir, '.gitlab-ci.yml');
  const spec = { models, boards: config.boards, emulator, tinymlPackage };
  const workflow = opts.provider === 'github' ? githubWorkflow(spec) : gitlabPipeline(spec);
  refuseExisting(configPath, opts.force ?? false);
  refuseExisting(workflowPath, opts.force ?? false);
  writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
  writeFile(workflowPath, workflow);
  return { provider: opts.provider, workflowPath, configPath, config, jobs: models.flatMap((model) => config.boards.map((board) => ({ model, board }))), tinymlPackage };
}
