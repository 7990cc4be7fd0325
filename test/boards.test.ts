import { boardsJson } from '../src/cli/commands/boards.ts';
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BoardError } from '../src/errors.ts';
import { BOARDS_DIR, boardMatchesUsb, closestBoardId, getBoard, loadBoards, normalizeUsbId, validateBoard } from '../src/boards/registry.ts';
import { runCli } from './helpers/cli.ts';

const REQUIRED = ['mps2-an386', 'netduinoplus2', 'nano33ble', 'nano33ble-sense', 'nicla-sense-me', 'portenta-h7-m7', 'nano-rp2040-connect', 'pico', 'nucleo-l4r5zi'];

function tempBoardDir(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tinyml-boards-'));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), typeof body === 'string' ? body : JSON.stringify(body));
  return dir;
}

function shippedManifest(id: string): Record<string, unknown> {
  return JSON.parse(readFileSync(resolve(BOARDS_DIR, `${id}.json`), 'utf8'));
}

describe('board registry', () => {
  it('loads and validates every shipped manifest, including the nine required boards', () => {
    const ids = loadBoards().map((b) => b.id);
    for (const id of REQUIRED) expect(ids).toContain(id);
  });

  it('every shipped board leaves usable memory within the physical memory and cites its sources', () => {
    for (const b of loadBoards()) {
      expect(b.usable.flash_bytes).toBeLessThanOrEqual(b.flash_bytes);
      expect(b.usable.ram_bytes).toBeLessThanOrEqual(b.ram_bytes);
      expect(b.sources.every((s) => s.startsWith('https://'))).toBe(true);
    }
  });

  it('the QEMU boards name a machine that qemu-system-arm really provides', () => {
    const machines = spawnSync('qemu-system-arm', ['-M', 'help'], { encoding: 'utf8' }).stdout as string;
    const qemuBoards = loadBoards().filter((b) => b.emulation.qemu !== null);
    expect(qemuBoards.map((b) => b.id).sort()).toEqual(['mps2-an386', 'netduinoplus2']);
    for (const b of qemuBoards) expect(machines).toMatch(new RegExp(`^${b.emulation.qemu}\\s`, 'm'));
  });

  it('normalises USB ids written as 2341, 0x2341, 0X2341 or a number', () => {
    expect(normalizeUsbId('2341')).toBe('0x2341');
    expect(normalizeUsbId('0x2341')).toBe('0x2341');
    expect(normalizeUsbId('0X005A')).toBe('0x005a');
    expect(normalizeUsbId('5a')).toBe('0x005a');
    expect(normalizeUsbId(0x2341)).toBe('0x2341');
    expect(normalizeUsbId('0x12345')).toBeNull();
    expect(normalizeUsbId('zz')).toBeNull();
    expect(normalizeUsbId(70000)).toBeNull();
  });

  it('matches a port to a board by VID:PID in any spelling, including bootloader ids', () => {
    const nano = getBoard('nano33ble');
    const [[vid, pid]] = nano.bootloader_hwids as [[string, string]];
    expect(boardMatchesUsb(nano, vid.slice(2).toUpperCase(), pid.slice(2))).toBe(true);
    expect(boardMatchesUsb(nano, Number.parseInt(vid, 16), Number.parseInt(pid, 16))).toBe(true);
    expect(boardMatchesUsb(nano, '0x0483', '0x374b')).toBe(false);
  });

  it('normalises hwids written without 0x in a manifest', () => {
    const raw = shippedManifest('nano33ble');
    raw.hwids = [['2341', '5A']];
    const b = validateBoard(raw, '/x/nano33ble.json');
    expect(b.hwids).toEqual([['0x2341', '0x005a']]);
  });

  it('rejects a manifest with a wrong field type, naming the file and every bad field', () => {
    const raw = shippedManifest('pico');
    raw.f_cpu = '133 MHz';
    raw.cpu = 'cortex-m99';
    delete raw.report_serial;
    const dir = tempBoardDir({ 'pico.json': raw });
    let err: unknown;
    try {
      loadBoards(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BoardError);
    const msg = (err as Error).message;
    expect(msg).toContain('pico.json');
    expect(msg).toContain('f_cpu must be a positive integer');
    expect(msg).toContain('cpu must be one of');
    expect(msg).toContain('report_serial must be one of');
  });

  it('rejects usable memory larger than the chip, an id that differs from the file name, and broken JSON', () => {
    const raw = shippedManifest('pico');
    raw.usable = { ...(raw.usable as object), ram_bytes: 10_000_000 };
    expect(() => validateBoard(raw, '/x/pico.json')).toThrow(/usable.ram_bytes cannot exceed ram_bytes/);
    expect(() => validateBoard(shippedManifest('pico'), '/x/other.json')).toThrow(/must equal the file name 'other'/);
    expect(() => loadBoards(tempBoardDir({ 'a.json': '{ not json' }))).toThrow(BoardError);
  });

  it('rejects an FPU on a Cortex-M0+', () => {
    const raw = shippedManifest('pico');
    raw.fpu = 'fpv4-sp-d16';
    expect(() => validateBoard(raw, '/x/pico.json')).toThrow(/cortex-m0plus has neither an FPU nor DSP/);
  });

  it('an unknown id is a BoardError that counts the boards and suggests the closest id', () => {
    const n = loadBoards().length;
    expect(() => getBoard('nano33bel')).toThrow(BoardError);
    expect(() => getBoard('nano33bel')).toThrow(`unknown board 'nano33bel' (did you mean 'nano33ble'?): run \`tinyml boards\` to list the ${n} boards`);
    expect(() => getBoard('esp32-devkit')).toThrow(new RegExp(`^unknown board 'esp32-devkit': run`));
    expect(closestBoardId('portenta', ['portenta-h7-m7', 'pico'])).toBe('portenta-h7-m7');
  });
});

describe('tinyml boards (real binary)', () => {
  it('--json prints every manifest, the same as the registry loads, with camelCase keys like every command', () => {
    const r = runCli(['boards', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(j).toEqual(boardsJson(loadBoards()));
    const nano = j.find((b) => b['id'] === 'nano33ble')!;
    expect(nano['fCpu']).toBe(64_000_000);
    expect((nano['upload'] as Record<string, unknown>)['use1200bpsTouch']).toBe(true);
    expect(r.stdout).not.toMatch(/"[a-z]+_[a-z0-9_]+":/);
  });

  it('prints a table with one row per board', () => {
    const r = runCli(['boards']);
    expect(r.code).toBe(0);
    for (const b of loadBoards()) expect(r.stdout).toMatch(new RegExp(`^${b.id}\\s`, 'm'));
    expect(r.stderr).toBe('');
  });
});

