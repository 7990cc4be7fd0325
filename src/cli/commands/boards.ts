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

export function register(program: Command): void {
  program
    .command('boards')
    .description('list the supported boards: CPU, clock, flash/RAM, FQBN, USB ids, emulator')
    .option('--json', 'print the full manifests as JSON')
    .action((opts: { json?: boolean }) => {
      const boards = loadBoards();
      if (opts.json) {
        printJson(boards);
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
