/** The README's promise: it starts with exactly two commands, and CI runs the second one. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../helpers/shared.ts';

function readmeCommands(): string[] {
  const readme = readFileSync(resolve(PROJECT_ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```(?:sh|bash)\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
  return blocks.slice(0, 2);
}

describe('README', () => {
  it('starts with a main-job command and a test command', () => {
    const [main, tests] = readmeCommands();
    expect(main).toMatch(/scripts\/setup\.sh && .*tinyml/);
    expect(tests).toMatch(/scripts\/setup\.sh && npm test/);
  });

  it('is what .ci/run executes', () => {
    const tests = readmeCommands()[1]!;
    const ci = readFileSync(resolve(PROJECT_ROOT, '.ci/run'), 'utf8');
    expect(ci.split('\n')).toContain(tests);
  });
});
