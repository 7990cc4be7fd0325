/**
 * The JSONL log of a report stream: one JSON object per line, written synchronously the moment
 * an item is decoded, so a crash of the host, the device or the emulator loses nothing that
 * already arrived. Lines: {"t_ms":..,"record":{...}} | {"t_ms":..,"log":"..."} |
 * {"t_ms":..,"rejected":"...","reason":"..."} | {"t_ms":..,"event":"disconnected"|...}.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { FileError } from '../errors.ts';
import { ensureWritableDir } from '../build/firmware.ts';
import type { DecodedItem } from '../device/protocol.ts';

export class JsonlLog {
  private fd: number | null;
  private readonly started = Date.now();

  constructor(readonly path: string) {
    ensureWritableDir(dirname(path), '--jsonl');
    try {
      this.fd = openSync(path, 'a');
    } catch (e) {
      throw new FileError(`cannot write the JSONL log ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'}): check the folder exists and is writable`);
    }
  }

  write(item: DecodedItem): void {
    const t_ms = Date.now() - this.started;
    if (item.kind === 'record') this.line({ t_ms, record: item.record });
    else if (item.kind === 'log') this.line({ t_ms, log: item.line });
    else this.line({ t_ms, rejected: item.line, reason: item.reason });
  }

  event(event: string, detail?: Record<string, unknown>): void {
    this.line({ t_ms: Date.now() - this.started, event, ...detail });
  }

  private line(value: unknown): void {
    if (this.fd === null) return;
    writeSync(this.fd, JSON.stringify(value) + '\n');
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
