/**
 * README.md and docs/int8.md with their op-support tables regenerated from the code (the
 * backends' per-op checks on the conformance corpus). Shared by scripts/gen-op-tables.ts, which
 * writes them, and test/docs-op-tables.test.ts, which fails when the committed docs differ.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { opTableRows, renderOpMatrix, renderOpSummary, replaceBetweenMarkers } from '../../src/backends/op-table.ts';
import { loadModel } from '../../src/formats/load.ts';
import { conformanceCorpus } from './corpus.ts';
import { PROJECT_ROOT } from './shared.ts';

export const README = join(PROJECT_ROOT, 'README.md');
export const INT8_DOC = join(PROJECT_ROOT, 'docs/int8.md');

const CORPUS = "the models TFLite Micro's reference kernels made golden outputs for (`../shared/golden-ops`, `../shared/golden`) and the 16x8 field cases";

export function docsWithOpTables(): { readme: string; int8: string; models: number } {
  const corpus = conformanceCorpus();
  const rows = opTableRows(corpus.map((m) => loadModel(m.path)));
  return {
    readme: replaceBetweenMarkers(readFileSync(README, 'utf8'), 'op-support', renderOpSummary(rows, CORPUS)),
    int8: replaceBetweenMarkers(readFileSync(INT8_DOC, 'utf8'), 'op-support', renderOpMatrix(rows, CORPUS)),
    models: corpus.length,
  };
}
