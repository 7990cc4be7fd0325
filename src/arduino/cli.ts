/**
 * arduino-cli orchestration: detect it, compile a sketch with its pinned profile, upload, list
 * boards. Every call uses `--json` and reads the documented JSON shapes:
 *
 *   version --json      { "VersionString": "1.1.1", ... }
 *   compile --json      { "compiler_out", "compiler_err", "builder_result": { "build_path",
 *                         "executable_sections_size": [{ "name", "size", "max_size" }] },
 *                         "success" } (+ "error" on failure in 1.x)
 *   upload --json       { "stdout", "stderr", "updated_upload_port": { "address", "protocol",
 *                         "properties": { "vid", "pid" } } }
 *   board list --json   { "detected_ports": [{ "port": { "address", "protocol",
 *                         "properties": { "vid", "pid", "serialNumber" } },
 *                         "matching_boards": [{ "name", "fqbn" }] }] } (0.x: a bare array)
 *
 * Failures a user can fix become one line with the fix: arduino-cli missing (install line),
 * core missing, library missing, upload failed (double-tap reset), port permission (dialout).
 */
import { spawn } from 'node:child_process';
import { DeviceError, MissingToolError, TimeoutError, ToolFailedError } from '../errors.ts';
import { normalizeUsbId, type Board } from '../boards/registry.ts';
import { whichTool } from '../toolchain/tools.ts';
import { CORE_PINS, TFLM_LIBRARY } from './profiles.ts';

export const ARDUINO_CLI = 'arduino-cli';
export const ARDUINO_CLI_INSTALL =
  'curl -fsSL https://raw.githubusercontent.com/arduino/arduino-cli/master/install.sh | BINDIR=$HOME/.local/bin sh (https://arduino.github.io/arduino-cli/latest/installation/)';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ArduinoCli {
  path: string;
  version: string;
}

/** Finds arduino-cli on PATH and asks its version; MissingToolError with the install line if absent. */
export async function detectArduinoCli(env: NodeJS.ProcessEnv = process.env): Promise<ArduinoCli> {
  const path = whichTool(ARDUINO_CLI, env['PATH'] ?? '');
  if (!path) throw new MissingToolError(`arduino-cli not found on PATH: install it with ${ARDUINO_CLI_INSTALL}`);
  const r = await runCli(path, ['version', '--json'], env);
  const json = parseJson(r.stdout);
  const version = typeof json?.['VersionString'] === 'string' ? (json['VersionString'] as string) : null;
  if (r.code !== 0 || version === null) {
    throw new ToolFailedError(`arduino-cli at ${path} did not report its version (exit ${r.code}): reinstall it with ${ARDUINO_CLI_INSTALL}`);
  }
  return { path, version };
}

/** Runs arduino-cli to completion (never throws for a non-zero exit: callers classify). */
export function runCli(path: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => reject(new ToolFailedError(`could not start arduino-cli (${e.message}): reinstall it with ${ARDUINO_CLI_INSTALL}`)));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

function parseJson(text: string): Record<string, unknown> | null {
  const start = text.indexOf('{');
  const startArr = text.indexOf('[');
  const from = startArr >= 0 && (start < 0 || startArr < start) ? startArr : start;
  if (from < 0) return null;
  try {
    const v = JSON.parse(text.slice(from)) as unknown;
    if (Array.isArray(v)) return { __array: v };
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The first line that says what went wrong. */
function firstErrorLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  // A compiler diagnostic ("file:line:col: error: ...") says more than arduino-cli's summary.
  return lines.find((l) => /\berror:/.test(l)) ?? lines.find((l) => /error|failed|not found|no such/i.test(l)) ?? lines[0] ?? 'no output';
}

export interface SectionSize {
  name: string;
  size: number;
  max: number | null;
}

export interface CompileResult {
  buildPath: string | null;
  sections: SectionSize[];
  /** Flash (text) and RAM (data) used, from executable_sections_size. */
  flashBytes: number | null;
  ramBytes: number | null;
  warnings: string[];
}

/** Maps arduino-cli's failure text to the one line a user needs; `platform` is vendor:arch. */
export function classifyCompileFailure(text: string, platform: string): Error {
  const pin = CORE_PINS[platform];
  const coreInstall = pin ? pin.install : `arduino-cli core install ${platform}`;
  if (/platform (?:not installed|.*is not installed)|platform '?[\w:]+'? not found|invalid FQBN|unknown package|Error resolving FQBN|required platform/i.test(text)) {
    return new MissingToolError(`the Arduino core ${platform} is not installed: run \`${coreInstall}\``);
  }
  if (/TensorFlowLite\.h: No such file|tensorflow\/lite\/[\w/]+\.h: No such file|library .* not (?:found|installed)|Library '?Chirale/i.test(text)) {
    return new MissingToolError(`the TFLite Micro library ${TFLM_LIBRARY.name} is not installed: run \`arduino-cli lib install "${TFLM_LIBRARY.name}@${TFLM_LIBRARY.version}"\``);
  }
  return new ToolFailedError(`arduino-cli compile failed: ${firstErrorLine(text)}`);
}

/** Warning lines of the compiler output. */
export function compilerWarnings(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /warning:|^WARNING/i.test(l));
}

export async function compileSketch(cli: ArduinoCli, opts: { sketchDir: string; profile: string; platform: string; buildPath?: string }, env: NodeJS.ProcessEnv = process.env): Promise<CompileResult> {
  const args = ['compile', '--profile', opts.profile, '--json'];
  if (opts.buildPath) args.push('--build-path', opts.buildPath);
  args.push(opts.sketchDir);
  const r = await runCli(cli.path, args, env);
  const json = parseJson(r.stdout);
  const out = str(json?.['compiler_out']);
  const err = str(json?.['compiler_err']);
  if (r.code !== 0 || json === null || json['success'] === false) {
    throw classifyCompileFailure([str(json?.['error']), err, out, r.stderr, json ? '' : r.stdout].join('\n'), opts.platform);
  }
  const builder = (json['builder_result'] ?? {}) as Record<string, unknown>;
  const raw = Array.isArray(builder['executable_sections_size']) ? (builder['executable_sections_size'] as Record<string, unknown>[]) : [];
  const sections = raw.map((s) => ({
    name: str(s['name']),
    size: typeof s['size'] === 'number' ? s['size'] : 0,
    max: typeof s['max_size'] === 'number' ? s['max_size'] : typeof s['maxsize'] === 'number' ? (s['maxsize'] as number) : null,
  }));
  const find = (n: string) => sections.find((s) => s.name === n)?.size ?? null;
  return {
    buildPath: str(builder['build_path']) || null,
    sections,
    flashBytes: find('text'),
    ramBytes: find('data'),
    warnings: compilerWarnings(`${out}\n${err}`),
  };
}

export interface UploadResult {
  /** The port the board's sketch shows up on after upload (it can change after the reset). */
  port: string;
  portChanged: boolean;
  output: string;
}

export function classifyUploadFailure(text: string, port: string): Error {
  if (/permission denied|EACCES|access denied/i.test(text)) {
    return new DeviceError(`permission denied on ${port}: add your user to the dialout group (sudo usermod -aG dialout $USER) and log in again`);
  }
  if (/busy|resource temporarily unavailable|cannot lock/i.test(text)) {
    return new DeviceError(`serial port ${port} is busy: close the other program using it (serial monitor, screen, another tinyml) and retry`);
  }
  return new ToolFailedError(
    `upload to ${port} failed (${firstErrorLine(text)}): double-tap the board's reset button (the LED pulses in bootloader mode) and run the command again with --port set to the bootloader's port`,
  );
}

export async function uploadSketch(cli: ArduinoCli, opts: { sketchDir: string; profile: string; port: string; buildPath?: string }, env: NodeJS.ProcessEnv = process.env): Promise<UploadResult> {
  const args = ['upload', '--profile', opts.profile, '-p', opts.port, '--json'];
  if (opts.buildPath) args.push('--input-dir', opts.buildPath);
  args.push(opts.sketchDir);
  const r = await runCli(cli.path, args, env);
  const json = parseJson(r.stdout);
  const output = [str(json?.['stdout']), str(json?.['stderr']), str(json?.['error']), r.stderr].filter((s) => s).join('\n');
  if (r.code !== 0 || json === null || typeof json['error'] === 'string') throw classifyUploadFailure(output || r.stdout, opts.port);
  const updated = json['updated_upload_port'] as Record<string, unknown> | undefined;
  const port = str(updated?.['address']) || opts.port;
  return { port, portChanged: port !== opts.port, output };
}

export interface DetectedPort {
  address: string;
  protocol: string;
  vid: string | null;
  pid: string | null;
  serialNumber: string | null;
  matchingBoards: { name: string; fqbn: string }[];
}

/** Parses `board list --json` in the 1.x shape ({detected_ports: [...]}) or the 0.x bare array. */
export function parseBoardList(stdout: string): DetectedPort[] {
  const json = parseJson(stdout);
  const list = (Array.isArray(json?.['__array']) ? json['__array'] : Array.isArray(json?.['detected_ports']) ? json['detected_ports'] : []) as Record<string, unknown>[];
  return list.map((entry) => {
    const port = (entry['port'] ?? {}) as Record<string, unknown>;
    const props = (port['properties'] ?? {}) as Record<string, unknown>;
    const boards = (Array.isArray(entry['matching_boards']) ? entry['matching_boards'] : []) as Record<string, unknown>[];
    return {
      address: str(port['address']),
      protocol: str(port['protocol']),
      vid: normalizeUsbId(str(props['vid'])),
      pid: normalizeUsbId(str(props['pid'])),
      serialNumber: str(props['serialNumber']) || null,
      matchingBoards: boards.map((b) => ({ name: str(b['name']), fqbn: str(b['fqbn']) })),
    };
  });
}

export async function listBoardPorts(cli: ArduinoCli, env: NodeJS.ProcessEnv = process.env): Promise<DetectedPort[]> {
  const r = await runCli(cli.path, ['board', 'list', '--json'], env);
  if (r.code !== 0) throw new DeviceError(`arduino-cli board list failed (${firstErrorLine(`${r.stderr}\n${r.stdout}`)}): pass --port <path>`);
  return parseBoardList(r.stdout);
}

const hwidIn = (ids: [string, string][], p: DetectedPort) => p.vid !== null && p.pid !== null && ids.some(([v, i]) => v === p.vid && i === p.pid);

/** USB ids of the board running a sketch (its hwids that are not bootloader ids). */
export function sketchHwids(board: Board): [string, string][] {
  const boot = board.bootloader_hwids;
  const app = board.hwids.filter(([v, p]) => !boot.some(([bv, bp]) => bv === v && bp === p));
  return app.length > 0 ? app : board.hwids;
}

/** True when a detected port is this board (sketch or bootloader USB id, or arduino-cli's FQBN match). */
export function portIsBoard(board: Board, p: DetectedPort): boolean {
  return hwidIn(board.hwids, p) || hwidIn(board.bootloader_hwids, p) || p.matchingBoards.some((b) => b.fqbn === board.fqbn);
}

/** The one port the board is on; DeviceError when none or several. */
export async function findBoardPort(cli: ArduinoCli, board: Board, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const ports = await listBoardPorts(cli, env);
  const found = ports.filter((p) => portIsBoard(board, p));
  if (found.length === 0) {
    throw new DeviceError(`no ${board.name} found on USB (${ports.length} port(s) seen): plug it in (a data cable, not charge-only), or pass --port <path>`);
  }
  if (found.length > 1) {
    throw new DeviceError(`${found.length} ${board.name} boards found (${found.map((p) => p.address).join(', ')}): choose one with --port <path>`);
  }
  return found[0]!.address;
}

/**
 * After an upload the board resets and re-enumerates: polls `board list` until a port with the
 * board's sketch VID:PID is there (preferring `expected`, the updated upload port), at most
 * `timeoutMs` (default 10 s).
 */
export async function waitForSketchPort(
  cli: ArduinoCli,
  board: Board,
  opts: { expected?: string; timeoutMs?: number; pollMs?: number } = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const timeout = opts.timeoutMs ?? 10_000;
  const poll = opts.pollMs ?? 250;
  const ids = sketchHwids(board);
  const end = Date.now() + timeout;
  for (;;) {
    const ports = (await listBoardPorts(cli, env)).filter((p) => hwidIn(ids, p));
    const hit = ports.find((p) => p.address === opts.expected) ?? ports[0];
    if (hit) return hit.address;
    if (Date.now() >= end) {
      throw new TimeoutError(
        `${board.name} did not come back on USB with its sketch id (${ids.map(([v, p]) => `${v}:${p}`).join(' or ')}) within ${Math.round(timeout / 1000)} s after upload: press reset once, then run \`tinyml monitor --port <path>\``,
      );
    }
    await new Promise((r) => setTimeout(r, poll));
  }
}
