/** `tinyml boards [--json]`: the board registry. */
import type { Command } from 'commander';
import { loadBoards, type Board } from '../../boards/registry.ts';
import { formatTable, printJson, printLine } from '../output.ts';

function kib(bytes: number): string {
  return bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${Math.round((bytes / 1024) * 10) / 10} KiB`;
}

function emulator(b: Board): string {
  if (b.emulation.qemu) return `qemu ${b.emulation.qemu}`;
  if (b.emulation.renode) return 'renode';
  return '-';
}

/**
 * The manifests with camelCase keys, like every command's JSON (`f_cpu` -> `fCpu`,
 * `use_1200bps_touch` -> `use1200bpsTouch`); the files in boards/ keep PlatformIO's snake_case.
 */
export function boardsJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(boardsJson);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()), boardsJson(v)]));
}

export function register(program: Command): void {
  program
    .command('boards')
    .description('list the supported boards: CPU, clock, flash/RAM, FQBN, USB ids, emulator')
    .option('--json', 'print the full manifests as JSON (camelCase keys)')
    .action((opts: { json?: boolean }) => {
      const boards = loadBoards();
      if (opts.json) {
        printJson(boardsJson(boards));
        return;
      }
      const rows = boards.map((b) => [
        b.id,
        b.name,
        b.cpu + (b.fpu ? `+${b.fpu}` : ''),
        `${b.f_cpu / 1e6} MHz`,
        `${kib(b.usable.flash_bytes)} / ${kib(b.flash_bytes)}`,
        `${kib(b.usable.ram_bytes)} / ${kib(b.ram_bytes)}`,
        b.fqbn ?? '-',
        b.hwids.map(([v, p]) => `${v.slice(2)}:${p.slice(2)}`).join(' ') || '-',
        emulator(b),
        b.report_serial + (b.emulation.report_serial && b.emulation.report_serial !== b.report_serial ? ` (${b.emulation.report_serial} emulated)` : ''),
      ]);
      printLine(formatTable(['id', 'name', 'cpu', 'clock', 'flash usable/total', 'RAM usable/total', 'fqbn', 'usb', 'emulator', 'report serial'], rows));
      printLine();
      printLine(`${boards.length} boards. Usable = what a sketch may use after the bootloader/core reservation; \`tinyml boards --json\` shows the notes and sources.`);
    });
}
