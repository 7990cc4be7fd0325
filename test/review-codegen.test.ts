/**
 * Review of generated code: a model file name that is hostile to C/C++ (spaces, '*', '??',
 * backslashes, non-ASCII, a leading digit or underscore) gives a TFLite Micro sketch whose
 * model_data.cc / model_data.h compile with g++ -Wall -Wextra -Werror -Wpedantic, whose array
 * name is a plain identifier that C++ does not reserve, and whose name text stays in comments.
 * A board's free-text name (boards/*.json) stays inside the .ino comment and one sketch.yaml scalar.
 * And the native model.c says what each tensor is: every arena tensor with its byte range, and
 * the model tensor each weight array comes from.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { sharedPath } from './helpers/shared.ts';
import { cIdentifier } from '../src/arduino/sketch-common.ts';
import { writeTflmSketch } from '../src/arduino/sketch-tflm.ts';
import { writeNativeSketch } from '../src/arduino/sketch-native.ts';
import { generateNative } from '../src/codegen/native/generate.ts';
import { commentText } from '../src/codegen/native/c-syntax.ts';
import { loadModel } from '../src/formats/load.ts';
import { tensorBytes } from '../src/ir/graph.ts';
import { GOLDEN_IDS, goldenModel } from './helpers/native-models.ts';

// A board added by a user (boards/*.json) whose free-text name is hostile: only for this id.
const HOSTILE_BOARD_NAME = 'Evil */ int injected_board = 1; /* \n\nprofiles: x #';
vi.mock('../src/boards/registry.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/boards/registry.ts')>();
  return {
    ...real,
    getBoard: (id: string, dir?: string) => {
      const b = real.getBoard(id, dir);
      return id === 'nano33ble-sense' ? { ...b, name: HOSTILE_BOARD_NAME } : b;
    },
  };
});

const tmp = mkdtempSync(join(tmpdir(), 'tinyml-review-codegen-'));
const HELLO = sharedPath('models/tflm-hello-world/hello_world_int8.tflite');

// File names (the last path part is what the sketch sees as the model's label).
const HOSTILE_FILES = ['1-bad name.tflite', '_\u00e9*?? x *\\ y.tflite', '.tflite', '__init__.tflite', 'a__b.tflite'];

/** C++ reserves identifiers that contain '__' or start with '_' and an upper-case letter. */
function plainCppIdentifier(id: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_]*$/.test(id) && !id.includes('__') && id.length <= 60;
}

describe('the TFLite Micro sketch array name from a hostile model file name', () => {
  it('is a C++ identifier that is not reserved', () => {
    for (const f of HOSTILE_FILES) expect(plainCppIdentifier(cIdentifier(f)), `${f} -> ${cIdentifier(f)}`).toBe(true);
    expect(cIdentifier('.tflite')).toBe('m_tflite');
  });

  it.each(HOSTILE_FILES.map((f, i) => [f, i] as const))('%s: model_data compiles with -Werror -Wpedantic and the name stays in comments', async (file, i) => {
    const dir = join(tmp, `m${i}`);
    mkdirSync(dir, { recursive: true });
    const modelPath = join(dir, file);
    copyFileSync(HELLO, modelPath);
    const sketch = await writeTflmSketch(modelPath, { board: 'nano33ble', outDir: join(tmp, `sketch${i}`), arenaChoice: { kind: 'formula' } });
    expect(sketch.arrayName).toBe(cIdentifier(file));
    const id = cIdentifier(file);
    const cc = sketch.files['model_data.cc']!;
    const h = sketch.files['model_data.h']!;
    const ino = sketch.files[`sketch${i}.ino`]!;
    expect(cc).toContain(`const unsigned char ${id}[] = {`);
    expect(h).toContain(`extern const unsigned char ${id}[];`);
    for (const text of [cc, h, ino]) {
      const code = text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/.*$/gm, ' ');
      expect(code).not.toContain(' x ');
      expect(code).not.toContain('??');
      expect(text).toMatch(/^[\x09\x0a\x20-\x7e]*$/);
    }
    const src = join(tmp, `sketch${i}`);
    const r = spawnSync(
      'g++',
      ['-std=c++11', '-Wall', '-Wextra', '-Werror', '-Wpedantic', '-Wcomment', '-Wtrigraphs', `-I${src}`, '-c', join(src, 'model_data.cc'), '-o', join(src, 'model_data.o')],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
  });
});

describe('native model.c comments say what each tensor is', () => {
  it.each(GOLDEN_IDS)('%s: every arena tensor with its byte range, every weight array with its source tensor', (id) => {
    const graph = loadModel(goldenModel(id).modelPath);
    const gen = generateNative(graph);
    const c = gen.files['model.c']!;
    const arenaComment = c.slice(c.indexOf('/* The arena:'), c.indexOf('static uint8_t tml_arena['));
    expect(gen.plan.tensorOffset.size).toBeGreaterThan(0);
    for (const [t, off] of gen.plan.tensorOffset) {
      const tensor = graph.tensors[t]!;
      expect(arenaComment).toContain(`[${off}, ${off + tensorBytes(tensor)}) tensor #${t} "${commentText(tensor.name, 80)}"`);
    }
    for (const op of graph.ops) {
      if (!['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED'].includes(op.type)) continue;
      const w = graph.tensors[op.inputs[1]!]!;
      const decl = c.indexOf(`tml_op${op.index}_${op.type === 'FULLY_CONNECTED' ? 'weights' : 'filter'}[`);
      expect(decl, `op ${op.index}`).toBeGreaterThan(0);
      const comment = c.slice(c.lastIndexOf('/*', decl), decl);
      expect(comment).toContain(`tensor #${w.index} `);
    }
  });
});

describe('a board name from boards/*.json', () => {
  it.each(['tflm', 'native'] as const)('%s sketch: stays in the .ino comment and in one sketch.yaml scalar', async (runtime) => {
    const dir = join(tmp, `board-${runtime}`);
    const sketch =
      runtime === 'tflm'
        ? await writeTflmSketch(HELLO, { board: 'nano33ble-sense', outDir: dir, arenaChoice: { kind: 'formula' } })
        : writeNativeSketch(HELLO, { board: 'nano33ble-sense', outDir: dir });
    const ino = sketch.files[`board-${runtime}.ino`]!;
    expect(ino).toContain('Evil *\\/ int injected_board = 1; /\\*');
    expect(ino.replace(/\/\*[\s\S]*?\*\//g, ' ')).not.toContain('injected_board');
    const yaml = sketch.files['sketch.yaml']!;
    const notes = yaml.split('\n').filter((l) => l.includes('injected_board'));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^    notes: "tinyml .* runtime for Evil \*\/ int injected_board = 1; \/\* \\n\\nprofiles: x #"$/);
    expect(yaml.match(/^profiles:/gm)).toHaveLength(1);
  });
});
