/**
 * `tinyml ci init` and `tinyml ci robot` (issue 16). The GitHub and GitLab workflows for two
 * models (MLPerf KWS, micro_speech) x two boards (nano33ble, stm32f4-discovery) are validated
 * against the services' schemas (GitHub's own parser and schema, @actions/workflow-parser; GitLab's
 * ci.json with ajv, test/fixtures/ci-schemas), then their build-and-run commands are executed here,
 * as the CI runner would after its install steps: the real tinyml CLI, arm-none-eabi-gcc and the
 * Renode of ../shared/tools/renode. To keep Renode runs few, each workflow runs two of its four
 * matrix jobs and the two workflows together cover every model and board; one job has a budget
 * tightened in tinyml.ci.json and must fail with exit 13 and an annotation.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Ajv } from 'ajv';
import { parseWorkflow, NoOperationTraceWriter } from '@actions/workflow-parser';
import { ciInit, tinymlSource } from '../src/ci/init.ts';
import { budgetsFor, readCiConfig, validateCiConfig } from '../src/ci/config.ts';
import { writeRobotSuite } from '../src/ci/robot.ts';
import { runRenode } from '../src/emulate/renode.ts';
import { ReportCollector } from '../src/report/device-report.ts';
import { loadModel } from '../src/formats/load.ts';
import { getEngine } from '../src/infer/engines.ts';
import { getBoard } from '../src/boards/registry.ts';
import { ExitCode } from '../src/errors.ts';
import { MODELS, PROJECT_ROOT } from './helpers/shared.ts';
import { runCli } from './helpers/cli.ts';

const KWS = join(MODELS, 'mlperf-tiny/kws/kws_ref_model.tflite');
const SPEECH = join(MODELS, 'tflm-micro-speech/micro_speech_quantized.tflite');
const BOARDS = ['nano33ble', 'stm32f4-discovery'];
/** Where the generated workflows install tinyml from (the jobs here run the local tinyml on PATH). */
const PKG = 'git+https://example.com/you/tinyml.git#v0.1.0';
const GITLAB_SCHEMA = join(PROJECT_ROOT, 'test/fixtures/ci-schemas/gitlab-ci.json');
const root = mkdtempSync(join(tmpdir(), 'tinyml-ci-test-'));

/** A user's repository: two models under models/. */
function repo(name: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'models'), { recursive: true });
  copyFileSync(KWS, join(dir, 'models/kws.tflite'));
  copyFileSync(SPEECH, join(dir, 'models/micro_speech.tflite'));
  return dir;
}

/** `tinyml` on PATH, as `npm install --global tinyml` leaves it. */
const bin = join(root, 'bin');
mkdirSync(bin);
writeFileSync(join(bin, 'tinyml'), `#!/bin/sh\nexec "${process.execPath}" "${join(PROJECT_ROOT, 'bin/tinyml.js')}" "$@"\n`);
chmodSync(join(bin, 'tinyml'), 0o755);

function githubErrors(text: string): string[] {
  const r = parseWorkflow({ name: 'tinyml.yml', content: text }, new NoOperationTraceWriter());
  return r.context.errors.getErrors().map((e) => e.message);
}

function gitlabErrors(text: string): string[] {
  const ajv = new Ajv({ allErrors: true, strict: false, strictTypes: false, validateFormats: false });
  const validate = ajv.compile(JSON.parse(readFileSync(GITLAB_SCHEMA, 'utf8')));
  return validate(parse(text)) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** Runs a job's commands in bash (as GitHub and GitLab runners do: -e, pipefail) with the job's environment, in the repository. */
function execute(script: string, cwd: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], { cwd, env: { ...process.env, ...env, PATH: `${bin}:${process.env['PATH']}` } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** The int8 reference outputs for every input at its zero point (what the firmware bakes without --input). */
async function referenceHex(model: string): Promise<string> {
  const graph = loadModel(model);
  const inputs = graph.inputs.map((gi) => {
    const t = graph.tensors[gi.tensor]!;
    const n = t.shape.reduce((a, b) => a * b, 1);
    return { dtype: t.dtype, shape: [...t.shape], data: new Int8Array(n).fill(t.quant!.zeroPoint[0]!) } as never;
  });
  const r = await getEngine('reference').run(graph, inputs);
  const o = r.outputs[0]!;
  return Buffer.from((o.data as Int8Array).buffer, (o.data as Int8Array).byteOffset, (o.data as Int8Array).byteLength).toString('hex');
}

function checkReport(dir: string, model: string, board: string, wantHex: string): void {
  const name = `${model.split('/').pop()}-${board}`;
  const report = JSON.parse(readFileSync(join(dir, 'reports', `${name}.json`), 'utf8'));
  expect(report.board).toBe(board);
  expect(report.emulator).toBe('renode');
  expect(report.outputs[0].hex, `${model} on ${board}: outputs equal the int8 reference`).toBe(wantHex);
  expect(existsSync(join(dir, 'reports', `${name}.jsonl`))).toBe(true);
  expect(existsSync(join(dir, 'firmware', name, 'firmware.elf'))).toBe(true);
  expect(existsSync(join(dir, 'firmware', name, 'firmware.bin'))).toBe(true);
  const junit = readFileSync(join(dir, 'reports', `${name}.xml`), 'utf8');
  expect(junit).toContain('<testsuite');
  // Budgets from tinyml.ci.json were applied: the JUnit file has a case per budget.
  expect(junit).toMatch(/budget --max-flash \d+/);
  expect(junit).toMatch(/budget --max-arena \d+/);
}

describe('tinyml ci init: workflows valid for GitHub and GitLab, their commands run here', () => {
  it('GitHub: the workflow passes GitHub\'s parser; two matrix jobs run; a budget overrun fails with exit 13 and an ::error annotation', async () => {
    const dir = repo('github');
    const r = runCli(['ci', 'init', '--github', '--tinyml-package', PKG, '--dir', dir, '--model', join(dir, 'models/kws.tflite'), join(dir, 'models/micro_speech.tflite'), '--board', ...BOARDS]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(join(dir, '.github/workflows/tinyml.yml'), 'utf8');
    expect(githubErrors(text)).toEqual([]);
    // The validator bites: a misspelt key is an error.
    expect(githubErrors(text.replace('runs-on:', 'runs_on:')).length).toBeGreaterThan(0);

    const wf = parse(text);
    const job = wf.jobs.firmware;
    expect(job.env.TINYML_PACKAGE).toBe(PKG);
    expect(job.strategy.matrix).toEqual({ model: ['models/kws.tflite', 'models/micro_speech.tflite'], board: BOARDS });
    expect(job.steps.some((s: { run?: string }) => s.run?.includes('renode-1.15.3.linux-portable.tar.gz'))).toBe(true);
    expect(job.steps.some((s: { uses?: string }) => s.uses === 'actions/upload-artifact@v4')).toBe(true);
    const step = job.steps.find((s: { name?: string }) => s.name === 'Build and run in the emulator');
    const envFor = (model: string, board: string) => ({ ...job.env, MODEL: model, BOARD: board });

    // tinyml.ci.json: measured budgets for every pair; tighten one to force a failure.
    const configPath = join(dir, 'tinyml.ci.json');
    const config = readCiConfig(configPath);
    expect(Object.keys(config.budgets).sort()).toEqual(['models/kws.tflite@nano33ble', 'models/kws.tflite@stm32f4-discovery', 'models/micro_speech.tflite@nano33ble', 'models/micro_speech.tflite@stm32f4-discovery']);
    config.budgets['models/kws.tflite@nano33ble']!.maxInstructions = 1000;
    writeFileSync(configPath, JSON.stringify(config, null, 2));

    const over = await execute(step.run, dir, envFor('models/kws.tflite', 'nano33ble'));
    expect(over.code, over.stderr).toBe(ExitCode.BUDGET);
    expect(over.stdout).toMatch(/^::error title=tinyml models\/kws\.tflite on nano33ble \(exit 13\)::tinyml: error: instructions \d+ exceeds --max-instructions 1000/m);
    checkReport(dir, 'models/kws.tflite', 'nano33ble', await referenceHex(KWS));
    expect(readFileSync(join(dir, 'reports/kws.tflite-nano33ble.xml'), 'utf8')).toMatch(/<failure[^>]*>[^<]*instructions \d+ exceeds 1000/);

    const ok = await execute(step.run, dir, envFor('models/micro_speech.tflite', 'stm32f4-discovery'));
    expect(ok.code, ok.stderr + ok.stdout).toBe(0);
    expect(ok.stdout).not.toContain('::error');
    checkReport(dir, 'models/micro_speech.tflite', 'stm32f4-discovery', await referenceHex(SPEECH));
  }, 300_000);

  it('GitLab: the pipeline passes GitLab\'s ci.json schema; the other two matrix jobs run', async () => {
    const dir = repo('gitlab');
    const r = runCli(['ci', 'init', '--gitlab', '--tinyml-package', PKG, '--dir', dir, '--model', join(dir, 'models/kws.tflite'), join(dir, 'models/micro_speech.tflite'), '--board', ...BOARDS]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(join(dir, '.gitlab-ci.yml'), 'utf8');
    expect(gitlabErrors(text)).toEqual([]);
    expect(gitlabErrors(text.replace('when: always', 'when: sometimes')).length).toBeGreaterThan(0);

    const job = parse(text)['tinyml-firmware'];
    expect(job.parallel.matrix).toEqual([{ MODEL: ['models/kws.tflite', 'models/micro_speech.tflite'], BOARD: BOARDS }]);
    expect(job.artifacts.reports.junit).toBe('reports/*.xml');
    const script = (job.script as string[]).join('\n');
    for (const [model, board, path] of [['models/micro_speech.tflite', 'nano33ble', SPEECH], ['models/kws.tflite', 'stm32f4-discovery', KWS]] as const) {
      const run = await execute(script, dir, { ...job.variables, MODEL: model, BOARD: board });
      expect(run.code, run.stderr + run.stdout).toBe(0);
      checkReport(dir, model, board, await referenceHex(path));
    }
  }, 300_000);

  it('refuses to overwrite, and refuses boards without Renode or models outside the repository', () => {
    const dir = repo('refuse');
    const args = ['ci', 'init', '--gitlab', '--tinyml-package', PKG, '--dir', dir, '--model', join(dir, 'models/kws.tflite'), '--board', 'nano33ble'];
    expect(runCli(args).code).toBe(0);
    const again = runCli(args);
    expect(again.code).toBe(ExitCode.USAGE);
    expect(again.stderr).toMatch(/tinyml\.ci\.json exists: pass --force to overwrite it/);
    expect(runCli(['ci', 'init', '--github', '--tinyml-package', PKG, '--dir', dir, '--model', join(dir, 'models/kws.tflite'), '--board', 'pico']).code).toBe(ExitCode.BOARD);
    expect(runCli(['ci', 'init', '--github', '--tinyml-package', PKG, '--dir', dir, '--force', '--model', KWS, '--board', 'nano33ble']).stderr).toMatch(/is outside .*: CI checks out the repository/);
    expect(runCli(['ci', 'init', '--dir', dir, '--model', KWS, '--board', 'nano33ble']).stderr).toMatch(/pass --github or --gitlab/);
  });
});

describe('tinyml.ci.json', () => {
  it('merges budgets from "*", board, model and model@board, the most specific last', () => {
    const c = validateCiConfig({ models: ['m.tflite'], boards: ['b'], budgets: { '*': { maxStack: 9, maxArena: 1 }, b: { maxArena: 2 }, 'm.tflite': { maxFlash: 3 }, 'm.tflite@b': { maxArena: 4 } } }, 'x.json');
    expect(budgetsFor(c, 'm.tflite', 'b')).toEqual({ maxInstructions: undefined, maxArena: 4, maxFlash: 3, maxStack: 9 });
    expect(budgetsFor(c, 'other.tflite', 'c')).toEqual({ maxInstructions: undefined, maxArena: 1, maxFlash: undefined, maxStack: 9 });
  });

  it('a bad budget is a usage error naming the key; package.json works through its "tinyml" key', () => {
    expect(() => validateCiConfig({ models: ['m'], boards: ['b'], budgets: { '*': { maxRam: 3 } } }, 'x.json')).toThrow(/budgets."\*".maxRam is not a budget/);
    expect(() => validateCiConfig({ models: ['m'], boards: ['b'], budgets: { '*': { maxArena: -3 } } }, 'x.json')).toThrow(/must be a positive integer/);
    const pkg = join(root, 'package.json');
    writeFileSync(pkg, JSON.stringify({ name: 'x', tinyml: { models: ['m'], boards: ['b'], budgets: { b: { maxFlash: 7 } } } }));
    expect(budgetsFor(readCiConfig(pkg), 'm', 'b').maxFlash).toBe(7);
  });
});

describe('tinyml ci robot: a suite for renode-test', () => {
  it('writes a .robot using Renode\'s keywords and a .resc that Renode runs to a done record with the model\'s hash', async () => {
    const out = join(root, 'robot');
    const suite = writeRobotSuite({ model: SPEECH, board: 'nano33ble', out });
    const robot = readFileSync(suite.robotPath, 'utf8');
    expect(robot).toMatch(/^\*\*\* Settings \*\*\*$/m);
    expect(robot).toMatch(/^Resource\s{2,}\$\{RENODEKEYWORDS\}$/m);
    expect(robot).toMatch(/^\$\{MODEL_HASH\}\s{2,}([0-9a-f]{16})$/m);
    expect(robot).toContain(`\${MODEL_HASH}     ${suite.modelHash}`);
    expect(robot).toMatch(/^\s{4}Execute Command\s{2,}include \$\{RESC\}$/m);
    expect(robot).toMatch(/^\s{4}Create Terminal Tester\s{2,}\$\{UART\}\s{2,}timeout=120$/m);
    expect(robot).toMatch(/^\$\{UART\}\s{2,}sysbus\.uart0$/m);
    expect(robot).toMatch(/^\s{4}Start Emulation$/m);
    expect(robot).toMatch(/^\s{4}Wait For Line On Uart\s{2,}"type":"done","status":"ok"$/m);
    expect(suite.command).toMatch(/^renode-test .*micro_speech_quantized-nano33ble\.robot$/);

    // The .resc the suite includes, run by Renode with $elf set as the .robot sets it.
    const board = getBoard('nano33ble');
    const collector = new ReportCollector();
    const run = await runRenode({ elfPath: suite.elfPath, rescPath: suite.rescPath, platform: board.emulation.renode!, uart: board.emulation.renode_uart!, cpuHz: board.f_cpu, name: board.id, onItem: (i) => collector.add(i), timeoutMs: 120_000 });
    expect(run.done).toBe(true);
    expect(collector.report.hello!.model_hash).toBe(suite.modelHash);
    // The done line renode-test waits for, byte for byte.
    expect(run.items.some((i) => i.kind === 'record' && i.raw.includes('"type":"done","status":"ok"'))).toBe(true);
  });

  it('a board Renode does not emulate is exit 7', () => {
    const r = runCli(['ci', 'robot', SPEECH, '--board', 'mps2-an386', '--out', join(root, 'robot-qemu')]);
    expect(r.code).toBe(ExitCode.BOARD);
    expect(r.stderr).toMatch(/has no Renode platform/);
  });
});

describe('ci init: where the workflow installs tinyml from', () => {
  /** A copy of package.json in a folder, optionally a git repository with an origin. */
  function checkout(where: string, origin?: string): string {
    mkdirSync(where, { recursive: true });
    copyFileSync(join(PROJECT_ROOT, 'package.json'), join(where, 'package.json'));
    const git = (...args: string[]) => execFileSync('git', ['-C', where, ...args], { encoding: 'utf8' }).trim();
    git('init', '-q');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--allow-empty', '-m', 'x');
    if (origin) git('remote', 'add', 'origin', origin);
    return git('rev-parse', 'HEAD');
  }
  const version = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

  it('a checkout with a network remote: git+<origin>#<commit>; scp-like remotes as ssh:// URLs', () => {
    const a = join(root, 'src-https');
    const sha = checkout(a, 'https://github.com/you/tinyml.git');
    expect(tinymlSource(a)).toBe(`git+https://github.com/you/tinyml.git#${sha}`);
    const b = join(root, 'src-scp');
    const sha2 = checkout(b, 'git@github.com:you/tinyml.git');
    expect(tinymlSource(b)).toBe(`git+ssh://git@github.com/you/tinyml.git#${sha2}`);
  });

  it('an installed package: the same version from the registry; a checkout without a usable remote: none', () => {
    const installed = join(root, 'proj/node_modules/tinyml');
    mkdirSync(installed, { recursive: true });
    copyFileSync(join(PROJECT_ROOT, 'package.json'), join(installed, 'package.json'));
    expect(tinymlSource(installed)).toBe(`tinyml@${version}`);
    const local = join(root, 'src-none');
    checkout(local);
    expect(tinymlSource(local)).toBeNull();
    const path = join(root, 'src-path');
    checkout(path, '/work/somewhere/tinyml');
    expect(tinymlSource(path)).toBeNull();
  });
});
