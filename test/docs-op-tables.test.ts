/**
 * The supported ops and dtypes that README.md and docs/int8.md list are what the code says: the
 * tables between their `<!-- op-support:begin/end -->` markers equal what
 * scripts/gen-op-tables.ts generates now from the backends' per-op checks.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { docsWithOpTables, INT8_DOC, README } from './helpers/op-tables.ts';

it('README.md and docs/int8.md list exactly the ops and dtypes each backend runs (else: node bin/run-ts.js scripts/gen-op-tables.ts)', () => {
  const docs = docsWithOpTables();
  expect(docs.models).toBeGreaterThan(120);
  expect(readFileSync(README, 'utf8')).toBe(docs.readme);
  expect(readFileSync(INT8_DOC, 'utf8')).toBe(docs.int8);
});
