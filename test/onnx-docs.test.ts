/**
 * docs/onnx.md tells the truth about ONNX support: its coverage table is the one the code's own
 * tables generate (scripts/gen-onnx-coverage.ts), every ONNX op the importer lowers has a row and
 * every row an importer, and the node tests without an int8 form are the ones the docs list.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SUPPORTED_ONNX_OPS } from '../src/formats/onnx/lower.ts';
import { ONNX_OPS } from '../src/formats/onnx/op-table.ts';
import { FLOAT_REFERENCE_OPS } from '../src/reference/float/index.ts';
import { ONNX_DOC, withCoverageTable } from '../scripts/gen-onnx-coverage.ts';
import { NOT_QUANTIZABLE } from './helpers/onnx-node-tests.ts';

describe('docs/onnx.md', () => {
  const doc = readFileSync(ONNX_DOC, 'utf8');

  it('holds the coverage table generated from the code (run scripts/gen-onnx-coverage.ts after changing support)', () => {
    expect(doc).toBe(withCoverageTable(doc));
    expect(doc).toMatch(/\| Conv \| 6\+ \| yes \| yes \| yes \|/);
  });

  it('every lowered ONNX op has a coverage row, and every row is lowered', () => {
    expect(Object.keys(ONNX_OPS).sort()).toEqual([...SUPPORTED_ONNX_OPS].sort());
  });

  it('the IR ops of every row are ops the float engine runs', () => {
    for (const [op, s] of Object.entries(ONNX_OPS)) for (const ir of s.ir) expect(FLOAT_REFERENCE_OPS, `${op} -> ${ir}`).toContain(ir);
  });

  it('lists every node test without an int8 form', () => {
    for (const name of Object.keys(NOT_QUANTIZABLE)) expect(doc, name).toContain(`\`${name}\``);
  });
});
