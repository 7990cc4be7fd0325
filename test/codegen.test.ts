/**
 * The native C generator: hostile names from model files never break or inject into the C
 * (a renamed real model compiles with -Werror and still equals the golden outputs), output is
 * byte-identical across runs, and unsupported ops are all named at once.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UnsupportedError } from '../src/errors.ts';
import { loadModel } from '../src/formats/load.ts';
import { readModelBytes } from '../src/formats/load.ts';
import { commentText, cString, floatLiteral, int32Literal } from '../src/codegen/native/c-syntax.ts';
import { generateNative } from '../src/codegen/native/generate.ts';
import { buildHostRunner, runHostRunner } from '../src/build/host.ts';
import { KERNEL_INCLUDE_DIR } from '../src/build/paths.ts';
import { goldenModel } from './helpers/native-models.ts';

process.env['TINYML_CACHE'] = mkdtempSync(join(tmpdir(), 'tinyml-codegen-cache-'));

const HOSTILE = [
  'evil */ int injected = 1; /*',
  'line\nbreak\r\n#define TML_MODEL_NUM_OPS 0',
  'back\\slash at the end \\',
  'trigraph ??/\nsplice ??= ??( ??)',
  'quotes " and \' and `',
  'non-ASCII: ñ 日本語 🙂 \u0000 \u007f',
  'int',
  'return',
  '/* nested',
  '*/',
];

describe('comment and literal escaping', () => {
  it('keeps comment text on one printable-ASCII line with no comment delimiters or trigraphs', () => {
    for (const name of HOSTILE) {
      const c = commentText(name);
      expect(c, name).toMatch(/^[\x20-\x7e]*$/);
      expect(c, name).not.toContain('*/');
      expect(c, name).not.toContain('/*');
      expect(c, name).not.toContain('??');
      expect(c.endsWith('\\'), name).toBe(false);
    }
    expect(commentText('a*/b')).toBe('a*\\/b');
    expect(commentText('x\ny')).toBe('x\\ny');
    expect(commentText('é')).toBe('\\u00e9');
  });

  it('writes exact float32 hex literals and safe int32 / string literals', () => {
    expect(floatLiteral(0.5)).toBe('0x1p-1f');
    expect(floatLiteral(0.1)).toBe('0x1.99999ap-4f'); // float32(0.1) = 0x3DCCCCCD
    expect(floatLiteral(-3)).toBe('-0x1.8p1f');
    expect(int32Literal(-2147483648)).toBe('(-2147483647 - 1)');
    expect(cString('CONV_2D')).toBe('"CONV_2D"');
    expect(cString('a"b\\c\n')).toBe('"a\\042b\\134c\\012"');
  });
});

describe('hostile tensor and node names from the model file', () => {
  const gm = goldenModel('mlperf-tiny-kws');
  const graph = loadModel(gm.modelPath);
  graph.tensors.forEach((t, i) => (t.name = HOSTILE[i % HOSTILE.length]!));
  graph.ops.forEach((o, i) => (o.source.name = HOSTILE[(i + 3) % HOSTILE.length]!));
  const gen = generateNative(graph, { modelLabel: HOSTILE[0] });

  it('appear only escaped inside comments', () => {
    const c = gen.files['model.c']!;
    const h = gen.files['model.h']!;
    for (const text of [c, h]) {
      // With every comment removed, nothing of the names is left: they never reached code.
      const code = text.replace(/\/\*[\s\S]*?\*\//g, ' ');
      expect(code).not.toContain('injected');
      expect(code).not.toContain('#define TML_MODEL_NUM_OPS 0');
      expect(code).not.toContain('splice');
      expect(text).toMatch(/^[\x09\x0a\x20-\x7e]*$/); // printable ASCII only
      expect(text).not.toContain('??');
    }
    expect(c).toContain('evil *\\/ int injected = 1; /\\*');
    expect(h).toMatch(/#define TML_MODEL_NUM_OPS +13\b/);
  });

  it('compile with gcc -Werror (host and Cortex-M4) and still give the golden outputs', async () => {
    const runner = await buildHostRunner(graph);
    const outs = await runHostRunner(runner, gm.cases.map((c) => c.inputs));
    gm.cases.forEach((c, k) => expect(Buffer.from(outs[k]![0]!).equals(Buffer.from(c.outputs[0]!)), `case ${k}`).toBe(true));

    const dir = mkdtempSync(join(tmpdir(), 'tinyml-hostile-'));
    for (const [name, text] of Object.entries(gen.files)) writeFileSync(join(dir, name), text);
    const r = spawnSync(
      'arm-none-eabi-gcc',
      ['-mcpu=cortex-m4', '-mthumb', '-std=c99', '-Os', '-Wall', '-Wextra', '-Werror', '-Wcomment', '-Wtrigraphs', `-I${dir}`, `-I${KERNEL_INCLUDE_DIR}`, '-c', join(dir, 'model.c'), '-o', join(dir, 'model.o')],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
  });
});

describe('deterministic output', () => {
  it('the same model and options give byte-identical files; other options change only the build id', () => {
    const model = goldenModel('tflm-keyword-scrambled').modelPath;
    const bytes = readModelBytes(model);
    const a = generateNative(loadModel(model), { modelBytes: bytes, modelLabel: 'm', buildOptions: { optimize: 's' } });
    const b = generateNative(loadModel(model), { modelBytes: bytes, modelLabel: 'm', buildOptions: { optimize: 's' } });
    expect(Object.keys(a.files).sort()).toEqual(['model.c', 'model.h', 'tml_build_info.h', 'tml_input.c', 'tml_input.h']);
    for (const f of Object.keys(a.files)) expect(a.files[f], f).toBe(b.files[f]);
    const c = generateNative(loadModel(model), { modelBytes: bytes, modelLabel: 'm', buildOptions: { optimize: '2' } });
    expect(c.files['model.c']).toBe(a.files['model.c']);
    expect(c.buildId).not.toBe(a.buildId);
    expect(a.modelHash).toMatch(/^[0-9a-f]{16}$/);
    expect(a.files['model.h']).toContain(`#define TML_MODEL_HASH "${a.modelHash}"`);
  });
});

describe('ops the native backend cannot generate', () => {
  it('are all named in one UnsupportedError (type, op index, node name)', () => {
    const graph = loadModel(goldenModel('tflm-hello-world').modelPath);
    graph.ops[1]!.type = 'GELU';
    graph.ops[2]!.type = 'SIN';
    let err: unknown;
    try {
      generateNative(graph);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsupportedError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/cannot generate 2 ops: GELU \(op #1, node "sequential\/dense_1[^"]*"\): has no native C kernel; SIN \(op #2, node "StatefulPartitionedCall:0"\)/);
    expect(msg).not.toContain('\n');
  });
});
