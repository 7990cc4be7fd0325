/** Where and when a benchmark ran: the fields every wall-time result file starts with. */
import { cpus, loadavg } from 'node:os';

export function benchHost(): { date: string; node: string; cpu: string; cores: number; loadAverage1m: number } {
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    // Other work on the machine inflates wall times; the 1-minute load average says how much.
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
  };
}
