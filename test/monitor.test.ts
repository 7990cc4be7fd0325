/**
 * `tinyml monitor` against a real pty pair. No USB board exists here, so
 * test/fixtures/firmware/board-double.py stands in for one (a test double): it serves the
 * report stream on a pty behind a stable symlink, makes the port vanish mid-stream and, in the
 * "replug" scenario, brings it back behind the same link.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceError } from '../src/errors.ts';
import { openSerial, closeSerial, serialError } from '../src/device/serial.ts';
import { matchBoardPorts } from '../src/device/monitor.ts';
import { loadBoards } from '../src/boards/registry.ts';
import { runCliAsync } from './fixtures/firmware/run-cli-async.ts';
import { MODELS } from './helpers/shared.ts';

const DOUBLE = resolve(import.meta.dirname, 'fixtures/firmware/board-double.py');
const dir = mkdtempSync(join(tmpdir(), 'tinyml-monitor-test-'));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** Starts the board double and resolves once its port exists. */
function startDouble(link: string, scenario: 'vanish' | 'replug'): Promise<ChildProcess> {
  const child = spawn('python3', [DOUBLE, link, scenario], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolvePromise, reject) => {
    child.stdout!.once('data', (d: Buffer) => (d.toString().startsWith('READY') ? resolvePromise(child) : reject(new Error(d.toString()))));
    child.once('exit', (code) => reject(new Error(`board double exited ${code}`)));
  });
}

function jsonl(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('tinyml monitor on a pty (board test double)', () => {
  it('reconnects when the port vanishes mid-stream and keeps every record in the JSONL log', async () => {
    const link = join(dir, 'ttyREPLUG');
    const log = join(dir, 'replug.jsonl');
    await startDouble(link, 'replug');
    const r = await runCliAsync(['monitor', '--port', link, '--until-done', '--jsonl', log], 40_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Disconnected');
    expect(r.stdout).toContain(`Reconnecting to ${link} ...`);
    const lines = jsonl(log);
    const seq = lines.map((l) => (l.record ? `${(l.record as { type: string }).type}` : l.event ? `event:${String(l.event)}` : l.rejected ? 'rejected' : 'log'));
    const firstDisconnect = seq.indexOf('event:disconnected');
    expect(seq.slice(0, firstDisconnect)).toEqual(['event:connected', 'log', 'hello', 'inference', 'inference', 'inference', 'rejected']);
    expect(seq.slice(firstDisconnect).filter((s) => !s.startsWith('event:'))).toEqual(['hello', 'inference', 'done']);
    expect(seq).toContain('event:reconnecting');
    const cycles = lines.flatMap((l) => (l.record && (l.record as { type: string }).type === 'inference' ? [(l.record as { cycles: number }).cycles] : []));
    expect(cycles).toEqual([1000, 1001, 1002, 2000]);
  });

  it('exits 11 with --no-reconnect when the port vanishes; records received before are in the log', async () => {
    const link = join(dir, 'ttyVANISH');
    const log = join(dir, 'vanish.jsonl');
    await startDouble(link, 'vanish');
    const r = await runCliAsync(['monitor', '--port', link, '--no-reconnect', '--jsonl', log], 30_000);
    expect(r.code).toBe(11);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('disconnected');
    const records = jsonl(log).flatMap((l) => (l.record ? [l.record as { type: string }] : []));
    expect(records.map((x) => x.type)).toEqual(['hello', 'inference', 'inference', 'inference']);
  });

  it('checks hardware budgets from DWT cycles and clock_hz (exit 13) and the model hash (exit 14)', async () => {
    const link = join(dir, 'ttyBUDGET');
    await startDouble(link, 'vanish');
    // The double's inferences take 1000..1002 cycles at 64 MHz: 0.0157 ms at worst.
    const r = await runCliAsync(['monitor', '--port', link, '--duration', '4', '--max-latency-ms', '0.01', '--max-stack', '100000', '--json'], 30_000);
    expect(r.code).toBe(13);
    const summary = (JSON.parse(r.stdout.trim().split('\n').pop()!) as { summary: { budgets: { name: string; actual: number; ok: boolean }[] } }).summary;
    expect(summary.budgets).toEqual([
      { name: 'latency_ms', option: '--max-latency-ms', limit: 0.01, actual: 0.016, ok: false },
      { name: 'stack', option: '--max-stack', limit: 100000, actual: null, ok: false },
    ]);
    await startDouble(link, 'vanish');
    const stale = await runCliAsync(['monitor', '--port', link, '--duration', '4', '--model', join(MODELS, 'tflm-hello-world/hello_world_int8.tflite')], 30_000);
    expect(stale.code).toBe(14);
    expect(stale.stderr).toContain('00112233aabbccdd');
  });

  it('reports a port held by another program as busy, in one line', async () => {
    const link = join(dir, 'ttyBUSY');
    await startDouble(link, 'vanish');
    const first = await openSerial(link);
    try {
      const second = await openSerial(link).then(
        () => null,
        (e: unknown) => e,
      );
      expect(second).toBeInstanceOf(DeviceError);
      expect((second as DeviceError).message).toMatch(/busy: close the other program/);
    } finally {
      await closeSerial(first);
    }
  });
});

describe('tinyml monitor port problems', () => {
  it('a missing port: exit 11, one line naming the port', async () => {
    const r = await runCliAsync(['monitor', '--port', '/dev/tinyml-no-such-port', '--no-reconnect'], 20_000);
    expect(r.code).toBe(11);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('/dev/tinyml-no-such-port not found');
  });

  it('auto-detection without udevadm says to install udev or pass --port', async () => {
    const r = await runCliAsync(['monitor', '--port', 'auto'], 20_000, { PATH: '/nonexistent' });
    expect(r.code).toBe(11);
    expect(r.stderr).toMatch(/udevadm is not installed.*--port/);
  });

  it('refuses 1200 baud (it would reset an Arduino into its bootloader)', async () => {
    const r = await runCliAsync(['monitor', '--port', '/dev/null', '--baud', '1200'], 20_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bootloader');
  });

  it('matches ports to boards by USB VID:PID in any spelling (2341, 0x2341, upper case)', () => {
    const found = matchBoardPorts(
      [
        { path: '/dev/ttyS0' },
        { path: '/dev/ttyACM0', vendorId: '2341', productId: '005A' }, // Nano 33 BLE (Arduino's id)
        { path: '/dev/ttyACM1', vendorId: '0x2E8A', productId: '0x00c0' }, // Raspberry Pi Pico
        { path: '/dev/ttyUSB0', vendorId: '0403', productId: '6001' }, // an FTDI adapter, no board
      ],
      loadBoards(),
    );
    expect(found.map((f) => [f.path, f.board.id])).toEqual([
      ['/dev/ttyACM0', 'nano33ble'],
      ['/dev/ttyACM1', 'pico'],
    ]);
  });

  it('maps permission errors to the dialout hint', () => {
    const err = Object.assign(new Error('Error: Permission denied, cannot open /dev/ttyACM0'), { code: 'EACCES' });
    const mapped = serialError('/dev/ttyACM0', err);
    expect(mapped.exitCode).toBe(11);
    expect(mapped.message).toContain('dialout');
  });
});
