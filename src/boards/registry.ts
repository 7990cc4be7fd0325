/**
 * The board registry: one JSON file per board in boards/ (modelled on PlatformIO board manifests
 * plus the Arduino FQBN). Every file is checked field by field against the `Board` type when it
 * is loaded, so a typo in a manifest is reported with the file and field instead of surfacing
 * later as `undefined` in a build.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve, basename } from 'node:path';
import { BoardError } from '../errors.ts';
import { BOARDS_DIR } from '../build/paths.ts';

export const CPUS = ['cortex-m0', 'cortex-m0plus', 'cortex-m3', 'cortex-m4', 'cortex-m7', 'cortex-m33', 'cortex-m55'] as const;
export const FPUS = ['fpv4-sp-d16', 'fpv5-sp-d16', 'fpv5-d16'] as const;
export const REPORT_SERIALS = ['Serial', 'Serial1', 'uart0'] as const;

export type Cpu = (typeof CPUS)[number];
export type Fpu = (typeof FPUS)[number];
export type ReportSerial = (typeof REPORT_SERIALS)[number];
/** A USB vendor/product id pair, normalised to lower-case `0x` + 4 hex digits: ["0x2341", "0x005a"]. */
export type UsbHwid = [vid: string, pid: string];

export interface Board {
  id: string;
  name: string;
  vendor: string;
  mcu: string;
  /** Arduino fully qualified board name, or null when no Arduino core exists (bare-metal QEMU boards). */
  fqbn: string | null;
  cpu: Cpu;
  fpu: Fpu | null;
  /** Armv7E-M DSP (SIMD) instructions, which CMSIS-NN style int8 kernels use. */
  dsp: boolean;
  /** Core clock in Hz. */
  f_cpu: number;
  /** Physical on-chip (or on-board program) flash and RAM. */
  flash_bytes: number;
  ram_bytes: number;
  /** What a sketch/firmware may use once the bootloader and core reservations are taken off. */
  usable: { flash_bytes: number; ram_bytes: number; note: string };
  /** USB ids the board shows in any mode (application and bootloader). */
  hwids: UsbHwid[];
  /** USB ids in bootloader mode (after the 1200-bps touch or a double tap of reset). */
  bootloader_hwids: UsbHwid[];
  upload: { tool: string | null; use_1200bps_touch: boolean; wait_for_upload_port: boolean };
  /**
   * How the board is emulated: a QEMU machine, and/or a Renode platform (.repl, relative to
   * Renode's root) with the peripheral of the report UART (`renode_uart`, e.g. sysbus.uart0).
   */
  emulation: { qemu: string | null; renode: string | null; renode_uart?: string | null; report_serial: ReportSerial | null };
  /** firmware/platform/<folder> of the bare-metal native build when it is not the id (a board sharing another's MCU and pins). */
  platform?: string;
  /** Which serial carries the report stream on the real board. */
  report_serial: ReportSerial;
  serial_note?: string;
  /** The public documentation the values come from. */
  sources: string[];
}

/** Folder of the shipped board manifests (the project's boards/). */
export { BOARDS_DIR };

/**
 * Normalises a USB vendor or product id written as `2341`, `0x2341`, `0X2341` or a number to
 * `0x2341`. Returns null for anything that is not a 16-bit hex id.
 */
export function normalizeUsbId(id: string | number): string | null {
  let hex: string;
  if (typeof id === 'number') {
    if (!Number.isInteger(id) || id < 0 || id > 0xffff) return null;
    hex = id.toString(16);
  } else {
    const m = /^(?:0x)?([0-9a-f]{1,4})$/i.exec(id.trim());
    if (!m) return null;
    hex = m[1]!;
  }
  return '0x' + hex.toLowerCase().padStart(4, '0');
}

/** True when a port's VID/PID (in any accepted spelling) is one of the board's ids. */
export function boardMatchesUsb(board: Board, vid: string | number, pid: string | number): boolean {
  const v = normalizeUsbId(vid);
  const p = normalizeUsbId(pid);
  if (!v || !p) return false;
  return board.hwids.some(([bv, bp]) => bv === v && bp === p) || board.bootloader_hwids.some(([bv, bp]) => bv === v && bp === p);
}

/** Collects every problem of one manifest, so a broken file is fixed in one go. */
class ManifestChecker {
  readonly problems: string[] = [];
  constructor(private readonly obj: Record<string, unknown>) {}

  private get(path: string): unknown {
    let cur: unknown = this.obj;
    for (const key of path.split('.')) {
      if (cur === null || typeof cur !== 'object') return undefined;
      cur = (cur as Record<string, unknown>)[key];
    }
    return cur;
  }

  string(path: string, opts: { nullable?: boolean; optional?: boolean } = {}): void {
    const v = this.get(path);
    if (v === undefined && opts.optional) return;
    if (v === null && opts.nullable) return;
    if (typeof v !== 'string' || v.length === 0) this.problems.push(`${path} must be a non-empty string${opts.nullable ? ' or null' : ''}`);
  }

  bool(path: string): void {
    if (typeof this.get(path) !== 'boolean') this.problems.push(`${path} must be true or false`);
  }

  positiveInt(path: string): void {
    const v = this.get(path);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) this.problems.push(`${path} must be a positive integer`);
  }

  oneOf(path: string, allowed: readonly string[], nullable = false): void {
    const v = this.get(path);
    if (v === null && nullable) return;
    if (typeof v !== 'string' || !allowed.includes(v)) this.problems.push(`${path} must be one of ${allowed.join(', ')}${nullable ? ' or null' : ''}`);
  }

  hwids(path: string): void {
    const v = this.get(path);
    if (!Array.isArray(v)) {
      this.problems.push(`${path} must be a list of [vid, pid] pairs`);
      return;
    }
    v.forEach((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2 || pair.some((x) => (typeof x !== 'string' && typeof x !== 'number') || normalizeUsbId(x) === null)) {
        this.problems.push(`${path}[${i}] must be a [vid, pid] pair of 16-bit hex ids such as ["0x2341", "0x005a"]`);
      }
    });
  }

  stringList(path: string, minLength: number): void {
    const v = this.get(path);
    if (!Array.isArray(v) || v.length < minLength || v.some((s) => typeof s !== 'string' || s.length === 0)) {
      this.problems.push(`${path} must be a list of at least ${minLength} non-empty string(s)`);
    }
  }

  rule(ok: boolean, message: string): void {
    if (!ok) this.problems.push(message);
  }
}

/** Checks a parsed manifest against the Board type; returns the normalised board. */
export function validateBoard(raw: unknown, file: string): Board {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new BoardError(`board file ${file} is not a JSON object: fix the manifest`);
  const obj = raw as Record<string, unknown>;
  const c = new ManifestChecker(obj);
  c.string('id');
  c.string('name');
  c.string('vendor');
  c.string('mcu');
  c.string('fqbn', { nullable: true });
  c.oneOf('cpu', CPUS);
  c.oneOf('fpu', FPUS, true);
  c.bool('dsp');
  c.positiveInt('f_cpu');
  c.positiveInt('flash_bytes');
  c.positiveInt('ram_bytes');
  c.positiveInt('usable.flash_bytes');
  c.positiveInt('usable.ram_bytes');
  c.string('usable.note');
  c.hwids('hwids');
  c.hwids('bootloader_hwids');
  c.string('upload.tool', { nullable: true });
  c.bool('upload.use_1200bps_touch');
  c.bool('upload.wait_for_upload_port');
  c.string('emulation.qemu', { nullable: true });
  c.string('emulation.renode', { nullable: true });
  c.string('emulation.renode_uart', { nullable: true, optional: true });
  c.string('platform', { optional: true });
  c.oneOf('emulation.report_serial', REPORT_SERIALS, true);
  c.oneOf('report_serial', REPORT_SERIALS);
  c.string('serial_note', { optional: true });
  c.stringList('sources', 1);
  if (c.problems.length === 0) {
    const b = obj as unknown as Board;
    const expectedId = basename(file, '.json');
    c.rule(b.id === expectedId, `id '${b.id}' must equal the file name '${expectedId}'`);
    c.rule(/^[a-z0-9][a-z0-9-]*$/.test(b.id), `id '${b.id}' must be lower-case letters, digits and dashes`);
    c.rule(b.fqbn === null || /^[\w.-]+:[\w.-]+:[\w.-]+(:.+)?$/.test(b.fqbn), `fqbn '${b.fqbn}' must look like vendor:architecture:board[:options]`);
    c.rule(b.usable.flash_bytes <= b.flash_bytes, 'usable.flash_bytes cannot exceed flash_bytes');
    c.rule(b.usable.ram_bytes <= b.ram_bytes, 'usable.ram_bytes cannot exceed ram_bytes');
    c.rule(!(b.cpu === 'cortex-m0plus' || b.cpu === 'cortex-m0' || b.cpu === 'cortex-m3') || (b.fpu === null && !b.dsp), `${b.cpu} has neither an FPU nor DSP instructions`);
    const emulated = b.emulation.qemu !== null || b.emulation.renode !== null;
    c.rule(emulated === (b.emulation.report_serial !== null), 'emulation.report_serial must be set exactly when the board has an emulator');
    c.rule((b.emulation.renode !== null) === (typeof b.emulation.renode_uart === 'string'), 'emulation.renode_uart (the report UART, e.g. sysbus.uart0) must be set exactly when emulation.renode is');
    c.rule(b.emulation.renode === null || /^platforms\/[\w./-]+\.repl$/.test(b.emulation.renode), `emulation.renode '${b.emulation.renode}' must be a platform file under Renode's platforms/ folder, e.g. platforms/boards/arduino_nano_33_ble.repl`);
    c.rule(b.emulation.renode_uart === undefined || b.emulation.renode_uart === null || /^sysbus\.\w+$/.test(b.emulation.renode_uart), `emulation.renode_uart '${b.emulation.renode_uart}' must be a peripheral such as sysbus.uart0`);
    c.rule(b.platform === undefined || /^[a-z0-9][a-z0-9-]*$/.test(b.platform), `platform '${b.platform}' must be a folder name under firmware/platform/`);
    c.rule(!b.upload.use_1200bps_touch || b.hwids.length > 0, 'a board uploaded with the 1200-bps touch needs USB hwids');
  }
  if (c.problems.length > 0) throw new BoardError(`board file ${file} is invalid: ${c.problems.join('; ')}: fix the manifest`);
  const b = obj as unknown as Board;
  const norm = (pairs: UsbHwid[]): UsbHwid[] => pairs.map(([v, p]) => [normalizeUsbId(v)!, normalizeUsbId(p)!]);
  return { ...b, hwids: norm(b.hwids), bootloader_hwids: norm(b.bootloader_hwids) };
}

/** Reads and validates every manifest in `dir`, sorted by id. */
export function loadBoards(dir: string = BOARDS_DIR): Board[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    throw new BoardError(`board folder ${dir} not found: reinstall tinyml`);
  }
  const boards = files.map((f) => {
    const path = resolve(dir, f);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new BoardError(`board file ${path} is not valid JSON (${(e as Error).message}): fix the manifest`);
    }
    return validateBoard(raw, path);
  });
  return boards.sort((a, b) => a.id.localeCompare(b.id));
}

/** Edit distance, for "did you mean" suggestions. */
function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The known id closest to `id`, when it is close enough to be a plausible typo. */
export function closestBoardId(id: string, ids: readonly string[]): string | null {
  const wanted = id.toLowerCase();
  let best: string | null = null;
  let bestScore = Infinity;
  for (const candidate of ids) {
    const score = candidate.includes(wanted) || wanted.includes(candidate) ? 0.5 : levenshtein(wanted, candidate);
    if (score < bestScore) {
      bestScore = score;
      best = candidate;
    }
  }
  return best !== null && bestScore <= Math.max(2, Math.floor(wanted.length / 3)) ? best : null;
}

/** The board with this id; an unknown id is a BoardError naming the closest known id. */
export function getBoard(id: string, dir: string = BOARDS_DIR): Board {
  const boards = loadBoards(dir);
  const found = boards.find((b) => b.id === id);
  if (found) return found;
  const suggestion = closestBoardId(id, boards.map((b) => b.id));
  const hint = suggestion ? ` (did you mean '${suggestion}'?)` : '';
  throw new BoardError(`unknown board '${id}'${hint}: run \`tinyml boards\` to list the ${boards.length} boards`);
}
