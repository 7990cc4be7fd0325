/**
 * The conformance corpus: every model TFLite Micro produced golden outputs for
 * (../shared/golden-ops one-op models, ../shared/golden full models) and the hand-written 16x8
 * field cases (../shared/cases/11-int16-activations). Used to check that each backend's
 * per-op check says what its engine then does, and to generate the docs' support tables.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOLDEN, SHARED } from './shared.ts';

export interface CorpusModel {
  /** golden-ops/<id>, golden/<id> or cases/11-int16-activations/<case>. */
  id: string;
  path: string;
}

function metaModels(root: string, kind: string): CorpusModel[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'meta.json')))
    .map((d) => ({ id: `${kind}/${d.name}`, path: join(SHARED, (JSON.parse(readFileSync(join(root, d.name, 'meta.json'), 'utf8')) as { model: string }).model) }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

export function conformanceCorpus(): CorpusModel[] {
  const cases = join(SHARED, 'cases/11-int16-activations');
  const sixteen = readdirSync(cases, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => ({ id: `cases/11-int16-activations/${d.name}`, path: join(cases, d.name, 'model_16x8.tflite') }));
  return [...metaModels(join(SHARED, 'golden-ops'), 'golden-ops'), ...metaModels(GOLDEN, 'golden'), ...sixteen];
}
