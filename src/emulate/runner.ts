/**
 * One interface for the emulators that run tinyml firmware: QEMU (mps2-an386, netduinoplus2) and
 * Renode (the Nano 33 BLE's nRF52840, STM32 Discovery boards). A board's manifest says which it
 * has (boards/<id>.json `emulation`); `emulatorFor` picks one and returns a runner bound to the
 * board, so run, deploy, infer --engine emulator and eval --device stay emulator-agnostic.
 */
import { BoardError, UsageError } from '../errors.ts';
import type { Board } from '../boards/registry.ts';
import type { DecodedItem, DecoderStats } from '../device/protocol.ts';
import { checkQemu, runQemu } from './qemu.ts';
import { findRenode, runRenode } from './renode.ts';

export const EMULATORS = ['qemu', 'renode'] as const;
export type EmulatorId = (typeof EMULATORS)[number];

export interface EmulatorRunOptions {
  elfPath: string;
  /** Wall-clock limit of the whole run (default 120 s). */
  timeoutMs?: number;
  onItem?: (item: DecodedItem) => void;
}

export interface EmulatorRunResult {
  items: DecodedItem[];
  stats: DecoderStats;
  /** True when the firmware sent its `done` record. */
  done: boolean;
  wallMs: number;
  ptyPath: string;
  /** Renode's exact executed-instruction count of the whole run (null under QEMU). */
  executedInstructions: number | null;
}

export interface Emulator {
  id: EmulatorId;
  /** QEMU machine (mps2-an386) or Renode platform file (platforms/boards/...repl). */
  machine: string;
  /** For report headers: "QEMU mps2-an386, -icount shift=0". */
  describe: string;
  /** Throws MissingToolError when the emulator is not installed (before any build). */
  check(): void;
  run(opts: EmulatorRunOptions): Promise<EmulatorRunResult>;
}

export interface EmulatorChoice {
  /** qemu or renode; default: the board's QEMU machine, else its Renode platform. */
  emulator?: string;
  /** Renode launcher or folder (--renode). */
  renodePath?: string;
}

/** The emulators a board can run in, QEMU first. */
export function boardEmulators(board: Board): EmulatorId[] {
  const ids: EmulatorId[] = [];
  if (board.emulation.qemu) ids.push('qemu');
  if (board.emulation.renode) ids.push('renode');
  return ids;
}

/** Lists the emulated boards for error messages: "mps2-an386 (qemu), nano33ble (renode)". */
export function emulatedBoardList(boards: Board[]): string {
  return boards
    .filter((b) => boardEmulators(b).length > 0)
    .map((b) => `${b.id} (${boardEmulators(b).join(', ')})`)
    .join(', ');
}

/**
 * The runner for `board`. Throws UsageError for an unknown emulator name and BoardError when the
 * board has no such emulation (naming the ones it has, or the emulated boards when it has none).
 */
export function emulatorFor(board: Board, choice: EmulatorChoice = {}, allBoards: Board[] = []): Emulator {
  const requested = choice.emulator;
  if (requested !== undefined && !(EMULATORS as readonly string[]).includes(requested)) {
    throw new UsageError(`--emulator must be qemu or renode, not '${requested}'`);
  }
  const available = boardEmulators(board);
  if (available.length === 0) {
    const list = emulatedBoardList(allBoards);
    throw new BoardError(
      `board ${board.id} has no emulator: run it on the board with \`tinyml deploy <model> --board ${board.id}\` and \`tinyml monitor\`, or pick an emulated board${list ? ` (${list})` : ''}`,
    );
  }
  const id = (requested as EmulatorId | undefined) ?? available[0]!;
  if (!available.includes(id)) {
    throw new BoardError(`board ${board.id} is not emulated by ${id === 'qemu' ? 'QEMU' : 'Renode'}: use --emulator ${available.join(' or ')}`);
  }
  if (id === 'qemu') {
    const machine = board.emulation.qemu!;
    return {
      id,
      machine,
      describe: `QEMU ${machine}, -icount shift=0`,
      check: checkQemu,
      run: async (o) => ({ ...(await runQemu({ ...o, machine })), executedInstructions: null }),
    };
  }
  const platform = board.emulation.renode!;
  const uart = board.emulation.renode_uart;
  if (!uart) throw new BoardError(`board ${board.id} names a Renode platform but no emulation.renode_uart: fix boards/${board.id}.json`);
  return {
    id,
    machine: platform,
    describe: `Renode ${platform}, 1 ns of virtual time per instruction`,
    check: () => void findRenode(choice.renodePath),
    run: (o) => runRenode({ ...o, platform, uart, cpuHz: board.f_cpu, name: board.id, renodePath: choice.renodePath }),
  };
}
