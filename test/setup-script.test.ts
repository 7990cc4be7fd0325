/**
 * scripts/setup.sh (issue 14): it waits, bounded and saying for whom, while another package
 * manager holds the apt/dpkg lock, instead of failing at once (exit 100); and it installs the
 * npm packages with `npm ci`, exactly the committed lock file.
 *
 * The lock is a real POSIX record lock (fcntl, as dpkg takes it) held by a real second process
 * (python3) on a file standing in for /var/lib/dpkg/lock-frontend: the script's own functions,
 * sourced, are pointed at it (holding the machine's real dpkg lock would stall other installs).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from './helpers/shared.ts';
import { MONO_PACKAGES } from '../src/emulate/renode.ts';

const SETUP = resolve(PROJECT_ROOT, 'scripts/setup.sh');
const dir = mkdtempSync(join(tmpdir(), 'tinyml-setup-'));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A process holding an fcntl write lock on `file` for `seconds`; resolves once it holds it. */
function holdLock(file: string, seconds: number): Promise<ChildProcess> {
  writeFileSync(file, '');
  const child = spawn('python3', ['-c', 'import fcntl,sys,time; f=open(sys.argv[1],"w"); fcntl.lockf(f, fcntl.LOCK_EX); print("LOCKED", flush=True); time.sleep(float(sys.argv[2]))', file, String(seconds)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolvePromise, reject) => {
    child.stdout!.once('data', () => resolvePromise(child));
    child.once('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
  });
}

function waitForApt(lockFile: string, timeout: number): Promise<{ code: number; stdout: string; stderr: string; seconds: number }> {
  const started = Date.now();
  const script = `source ${JSON.stringify(SETUP)}; APT_LOCK_FILES=(${JSON.stringify(lockFile)}); APT_LOCK_TIMEOUT=${timeout}; wait_for_apt && echo FREE`;
  return new Promise((done) => {
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr, seconds: (Date.now() - started) / 1000 }));
  });
}

describe('scripts/setup.sh and the apt/dpkg lock', () => {
  it('waits while another process holds the lock, naming it, and goes on once it is released', async () => {
    const lock = join(dir, 'lock-frontend');
    const holder = await holdLock(lock, 3);
    const r = await waitForApt(lock, 30);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`setup: waiting for python3 (pid ${holder.pid}) to release the apt/dpkg lock (up to 30 s)`);
    expect(r.stdout.trim().endsWith('FREE')).toBe(true);
    expect(r.seconds).toBeGreaterThan(1.5);
  });

  it('gives up after the timeout with one clear line (who holds it, what to do)', async () => {
    const lock = join(dir, 'lock-held');
    const holder = await holdLock(lock, 20);
    const r = await waitForApt(lock, 2);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('FREE');
    expect(r.stderr.trim()).toBe(
      `setup: error: python3 (pid ${holder.pid}) still holds the apt/dpkg lock after 2 s: let it finish (or stop it), then run scripts/setup.sh again; TINYML_APT_LOCK_TIMEOUT=<seconds> waits longer`,
    );
  });

  it('does not wait when nobody holds the lock', async () => {
    const lock = join(dir, 'lock-free');
    writeFileSync(lock, '');
    const r = await waitForApt(lock, 30);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('FREE');
  });

  it('installs npm packages with npm ci (the committed lock, never rewritten) and keeps one growable list of Debian packages', () => {
    const text = readFileSync(SETUP, 'utf8');
    expect(text).toMatch(/^\s+npm ci --no-audit --no-fund/m);
    expect(text).not.toMatch(/^\s+npm install/m);
    const r = spawnSync('bash', ['-c', `source ${JSON.stringify(SETUP)}; printf '%s\\n' "\${DEBIAN_PACKAGES[@]}"`], { encoding: 'utf8' });
    expect(r.stdout.trim().split('\n')).toEqual(expect.arrayContaining(['gcc', 'gcc-arm-none-eabi', 'libnewlib-arm-none-eabi', 'qemu-system-arm', ...MONO_PACKAGES]));
  });
});
