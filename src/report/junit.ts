/**
 * JUnit XML for CI: one test suite per run, one test case for the run itself and one per budget
 * (`--max-*`), failed when exceeded. Text is escaped for XML (model names come from users).
 */
import { writeFileSync } from 'node:fs';
import { FileError } from '../errors.ts';

export interface JunitCase {
  name: string;
  /** Failure message; absent when the case passed. */
  failure?: string;
  /** Seconds. */
  time?: number;
  output?: string;
}

function xml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

export function junitXml(suite: string, cases: JunitCase[]): string {
  const failures = cases.filter((c) => c.failure !== undefined).length;
  const time = cases.reduce((t, c) => t + (c.time ?? 0), 0);
  const body = cases
    .map((c) => {
      const open = `  <testcase classname="${xml(suite)}" name="${xml(c.name)}" time="${(c.time ?? 0).toFixed(3)}"`;
      const inner = [
        c.failure !== undefined ? `    <failure message="${xml(c.failure)}">${xml(c.failure)}</failure>` : '',
        c.output ? `    <system-out>${xml(c.output)}</system-out>` : '',
      ].filter(Boolean);
      return inner.length ? `${open}>\n${inner.join('\n')}\n  </testcase>` : `${open}/>`;
    })
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n<testsuite name="${xml(suite)}" tests="${cases.length}" failures="${failures}" errors="0" time="${time.toFixed(3)}">\n${body}\n</testsuite>\n</testsuites>\n`;
}

export function writeJunit(path: string, suite: string, cases: JunitCase[]): void {
  try {
    writeFileSync(path, junitXml(suite, cases));
  } catch (e) {
    throw new FileError(`cannot write the JUnit file ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'}): check the folder exists and is writable`);
  }
}
