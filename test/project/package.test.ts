/**
 * The package as a newcomer meets it: every npm script runs a file that exists, the binary runs
 * compiled JavaScript (no TypeScript transpiler at start, tsx only a dev dependency), and the
 * compiled JavaScript is built on install, by setup.sh and whenever src/ is newer.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { PROJECT_ROOT } from '../helpers/shared.ts';

const pkg = JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('package.json', () => {
  it('every npm script that names a file names one that exists (npm run bench included)', () => {
    expect(pkg.scripts['bench']).toBeDefined();
    for (const [name, command] of Object.entries(pkg.scripts)) {
      for (const file of command.match(/[\w./-]+\.(?:[cm]?js|ts)\b/g) ?? []) {
        expect(existsSync(resolve(PROJECT_ROOT, file)), `npm run ${name}: ${file}`).toBe(true);
      }
    }
  });

  it('the binary runs compiled JavaScript: no transpiler among the runtime dependencies or in the start path', () => {
    expect(Object.keys(pkg.dependencies)).not.toContain('tsx');
    expect(Object.keys(pkg.devDependencies)).toContain('tsx');
    const bin = readFileSync(resolve(PROJECT_ROOT, pkg.bin['tinyml']!), 'utf8');
    expect(bin).not.toMatch(/tsx|\.ts['"]/);
    expect(bin).toContain("import('../dist/main.js')");
    const main = readFileSync(resolve(PROJECT_ROOT, 'dist/main.js'), 'utf8');
    expect(main).not.toMatch(/from ["']tsx/);
    const r = spawnSync(process.execPath, [resolve(PROJECT_ROOT, 'bin/tinyml.js'), '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe((JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });

  it('dist/ is built on install (prepare), by scripts/setup.sh, and by the binary when src/ is newer', () => {
    expect(pkg.scripts['prepare']).toBe('node scripts/build-dist.js');
    expect(readFileSync(resolve(PROJECT_ROOT, 'scripts/setup.sh'), 'utf8')).toMatch(/^main\(\) \{\n(?:.*\n)*?\s+build_dist\n\}/m);
    expect(readFileSync(resolve(PROJECT_ROOT, 'bin/tinyml.js'), 'utf8')).toMatch(/distIsStale\(\)[\s\S]*buildDist\(\)/);
  });
});
