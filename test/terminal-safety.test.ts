/**
 * Terminal safety (issue 14): names from a model file reach the terminal escaped. A model is
 * written here with tensor and op names full of escape sequences (OSC window title, clear
 * screen, cursor up, carriage return, a one-byte C1 CSI, a bidi override, a newline); the real
 * CLI's text output must show them as visible escapes and hold no control character but the
 * line breaks it writes itself. (Device log lines: test/device-hostile.test.ts.)
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { safe } from '../src/cli/output.ts';
import { writeTflite } from '../src/formats/tflite/write.ts';
import type { Graph } from '../src/ir/graph.ts';
import { runCli } from './helpers/cli.ts';

const EVIL = '\x1b]0;pwned\x07\x1b[2J\x1b[1A\r\x9b31m\u202e';
const SHOWN = '\\x1b]0;pwned\\x07\\x1b[2J\\x1b[1A\\r\\x9b31m\\u202e';
/** Any control character but the newline: none may reach a terminal. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const dir = mkdtempSync(join(tmpdir(), 'tinyml-term-'));

function evilModel(customOp = false): string {
  const q = { scale: [0.05], zeroPoint: [0], axis: 0 };
  const g: Graph = {
    format: 'tflite',
    tensors: [
      { index: 0, name: `const${EVIL}`, shape: [1, 4], dtype: 'int8', quant: q, data: new Uint8Array([1, 2, 3, 4]) },
      { index: 1, name: `input${EVIL}`, shape: [1, 4], dtype: 'int8', quant: q },
      { index: 2, name: `output\n${EVIL}`, shape: [1, 4], dtype: 'int8', quant: q },
    ],
    ops: [
      customOp
        ? { index: 0, type: `MyOp${EVIL}`, version: 1, inputs: [1, 0], outputs: [2], attrs: {}, source: { format: 'tflite', opType: `MyOp${EVIL}`, name: 'x', domain: 'custom' } }
        : { index: 0, type: 'ADD', version: 2, inputs: [1, 0], outputs: [2], attrs: { fusedActivation: 'NONE' }, source: { format: 'tflite', opType: 'ADD', name: 'x' } },
    ],
    inputs: [{ tensor: 1 }],
    outputs: [{ tensor: 2 }],
    meta: {},
    warnings: [],
  };
  const path = join(dir, customOp ? 'evil-custom.tflite' : 'evil.tflite');
  writeFileSync(path, writeTflite(g));
  return path;
}

describe('names from a model file are printed escaped', () => {
  it('safe() escapes C0, DEL, C1, bidi controls and line breaks; printable text is unchanged', () => {
    expect(safe(`a${EVIL}\nb\t\x7f`)).toBe(`a${SHOWN}\\nb\\t\\x7f`);
    expect(safe('conv2d/BiasAdd;StatefulPartitionedCall é 漢')).toBe('conv2d/BiasAdd;StatefulPartitionedCall é 漢');
  });

  it('inspect: tensor names with escape sequences are shown escaped, on their own line', () => {
    const r = runCli(['inspect', evilModel()]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(RAW_CONTROL);
    expect(r.stdout).toContain(`input:  input${SHOWN} [1,4] int8`);
    expect(r.stdout).toContain(`output: output\\n${SHOWN} [1,4] int8`);
  });

  it('infer: the output name is shown escaped', () => {
    const input = join(dir, 'x.bin');
    writeFileSync(input, Buffer.from([1, 2, 3, 4]));
    const r = runCli(['infer', evilModel(), '--input', input, '--engine', 'reference']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(RAW_CONTROL);
    expect(r.stdout).toContain(`output 0 'output\\n${SHOWN}' int8 [1,4]`);
  });

  it('a custom op named with escape sequences: inspect lists it escaped, build refuses with an escaped one-line error', () => {
    const model = evilModel(true);
    const r = runCli(['inspect', model]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(RAW_CONTROL);
    expect(r.stdout).toContain(`MyOp${SHOWN} (unknown)`);
    const b = runCli(['build', model, '--board', 'mps2-an386', '--out', join(dir, 'build')]);
    expect(b.code).toBe(5);
    expect(b.stderr).not.toMatch(RAW_CONTROL);
    expect(b.stderr.trim().split('\n')).toHaveLength(1);
    expect(b.stderr).toContain('MyOp');
  });
});
