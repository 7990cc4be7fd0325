/**
 * Writes the op-support tables of README.md and docs/int8.md from the code: each backend's own
 * per-op check run on the conformance models in ../shared (src/backends/op-table.ts). Run after
 * adding a kernel: `node bin/run-ts.js scripts/gen-op-tables.ts`. test/docs-op-tables.test.ts
 * fails while the committed docs differ.
 */
import { writeFileSync } from 'node:fs';
import { docsWithOpTables, INT8_DOC, README } from '../test/helpers/op-tables.ts';

const docs = docsWithOpTables();
writeFileSync(README, docs.readme);
writeFileSync(INT8_DOC, docs.int8);
console.log(`op-support tables written to README.md and docs/int8.md (${docs.models} models)`);
