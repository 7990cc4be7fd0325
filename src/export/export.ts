/**
 * `tinyml export`: the model as a self-contained C library for the user's own firmware, in the
 * layout and with the build file of one ecosystem:
 *
 *   c           include/<name>.h, src/ (generated model, info tables, the kernels it needs), example/
 *   cmake       the same + CMakeLists.txt (a static library target named <name>)
 *   platformio  the same + library.json (srcDir src, includeDir include)
 *   zephyr      the same + zephyr/module.yml, CMakeLists.txt (zephyr_library) and Kconfig
 *   arduino     <name>/library.properties, <name>/src/ (header and sources), <name>/examples/,
 *               and <name>.zip of that folder (Sketch > Include Library > Add .ZIP Library)
 *
 * Every format carries the same C: the native backend's generated model (src/codegen/native),
 * exactly the kernel files it calls (kernel-sources.ts), the kernel headers, a run-time table of
 * the inputs and outputs, and an example that runs one inference on a sample input and compares
 * it with the int8 reference computed here. Nothing in it refers to the tinyml installation.
 *
 * exportLibrary() is pure (returns file contents); writeExport() writes them.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Handlebars from 'handlebars';
import { stringify as yamlStringify } from 'yaml';
import { zipSync } from 'fflate';
import { BoardError, FileError, UsageError } from '../errors.ts';
import { isConstant, tensorBytes, type Graph, type Tensor } from '../ir/graph.ts';
import { generateNative, zeroPointInput } from '../codegen/native/generate.ts';
import { arrayBody, commentText, cString, floatLiteral } from '../codegen/native/c-syntax.ts';
import { runInt8 } from '../reference/int8/index.ts';
import { bytesOfTyped, typedFromBytes, isNpyDType } from '../data/npy.ts';
import { constBudget, defaultKernels, ensureWritableDir } from '../build/firmware.ts';
import { KERNEL_SETS, type KernelSet } from '../codegen/native/dsp.ts';
import { getBoard } from '../boards/registry.ts';
import { KERNEL_INCLUDE_DIR, PROJECT_ROOT, TEMPLATES_DIR } from '../build/paths.ts';
import { loadInt8Model, type LoadedModel } from '../load/model.ts';
import { bakedInputs } from '../run/run.ts';
import { kernelSourcesFor, withDspDefine } from './kernel-sources.ts';
import { progress } from '../progress.ts';

export const EXPORT_FORMATS = ['c', 'cmake', 'arduino', 'platformio', 'zephyr'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Name of the manifest every export writes: what was exported, and the files to replace on re-export. */
export const MANIFEST = 'tinyml-export.json';

export interface ExportOptions {
  format: ExportFormat;
  /** Library name: a C identifier (default: from the model's file name). */
  name?: string;
  /** Raw bytes per model input for the example (default: every input at its zero point). */
  sampleInputs?: Uint8Array[];
  /** Where the sample input came from, for comments. */
  sampleSource?: string;
  /** Include the example (sample input, int8 reference outputs, a main that compares). */
  example?: boolean;
  /** The command line that regenerates this export, for the README. */
  command?: string;
  /** Kernel set the C calls (default portable: an export does not know its core). */
  kernels?: KernelSet;
  /** Flash bytes the constants may take (a board's, as `tinyml build` gives; default: no limit). */
  constBudget?: number;
}

export interface TensorSummary {
  name: string;
  dtype: string;
  shape: number[];
  scale: number | null;
  zeroPoint: number | null;
  bytes: number;
}

/** What an export holds; also written as tinyml-export.json. */
export interface ExportManifest {
  tinymlVersion: string;
  format: ExportFormat;
  name: string;
  model: string;
  modelHash: string;
  /** The public header, relative to the library folder. */
  header: string;
  /** The kernel set: portable (any C99 target) or dsp (Armv7E-M DSP instructions). */
  kernelSet: KernelSet;
  arenaBytes: number;
  weightBytes: number;
  ops: string[];
  kernels: string[];
  inputs: TensorSummary[];
  outputs: TensorSummary[];
  /** Every file of the library, relative to the library folder. */
  files: string[];
}

export interface ExportedLibrary {
  manifest: ExportManifest;
  /** Path inside the output folder -> contents. For arduino the library is the folder `<name>/`. */
  files: Map<string, string | Uint8Array>;
  /** Folder of the library inside the output folder ('' except arduino: `<name>`). */
  libraryDir: string;
  /** The .zip (arduino), inside the output folder. */
  zip?: string;
}

const templates = new Map<string, Handlebars.TemplateDelegate>();

function render(name: string, context: object): string {
  let t = templates.get(name);
  if (t === undefined) {
    t = Handlebars.compile(readFileSync(join(TEMPLATES_DIR, 'export', name), 'utf8'), { noEscape: true, strict: true });
    templates.set(name, t);
  }
  return t(context);
}

function tinymlVersion(): string {
  return (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** A C identifier from the model's file name: `kws_ref_model.tflite` -> `kws_ref_model`. */
export function defaultLibraryName(label: string): string {
  const stem = label.replace(/\.[^.]*$/, '').toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  const name = /^[a-z]/.test(stem) ? stem : `model_${stem}`;
  return name.slice(0, 48).replace(/_+$/, '') || 'model';
}

/** Refuses a name that is not a C identifier usable as a file, CMake target, Kconfig and library name. */
export function checkLibraryName(name: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_]{0,47}$/.test(name)) {
    throw new UsageError(`--name '${name}' is not usable as a library name: use a letter, then letters, digits or underscores (at most 48), e.g. kws_model`);
  }
  return name;
}

const DTYPE_ENUM: Record<string, string> = {
  float32: 'TML_DTYPE_FLOAT32',
  int8: 'TML_DTYPE_INT8',
  uint8: 'TML_DTYPE_UINT8',
  int16: 'TML_DTYPE_INT16',
  int32: 'TML_DTYPE_INT32',
  int64: 'TML_DTYPE_INT64',
  bool: 'TML_DTYPE_BOOL',
};

function summary(t: Tensor): TensorSummary {
  const q = t.quant && t.quant.scale.length > 0 ? t.quant : undefined;
  return { name: t.name, dtype: t.dtype, shape: [...t.shape], scale: q ? q.scale[0]! : null, zeroPoint: q ? (q.zeroPoint[0] ?? 0) : null, bytes: tensorBytes(t) };
}

function tensorContext(t: Tensor, role: 'input' | 'output', index: number) {
  const s = summary(t);
  const dtypeEnum = DTYPE_ENUM[t.dtype];
  if (dtypeEnum === undefined) throw new UsageError(`${role} ${index} ('${t.name}') is ${t.dtype}, which the exported C API cannot describe: export a model with int8, int16 or float32 inputs and outputs`);
  return {
    role,
    index,
    description: `"${commentText(t.name, 80)}", [${t.shape.join(', ')}] ${t.dtype}`,
    nameLiteral: cString(t.name),
    dtypeEnum,
    rank: t.shape.length,
    shapeSlots: Math.max(t.shape.length, 1),
    shapeList: t.shape.length > 0 ? t.shape.join(', ') : '0',
    scale: s.scale !== null ? floatLiteral(s.scale) : '0.0f',
    scaleText: s.scale !== null ? String(Math.fround(s.scale)) : 'none (not quantized)',
    zeroPoint: s.zeroPoint ?? 0,
    bytes: s.bytes,
  };
}

/** README.md: one blank line between blocks, one newline at the end, whichever sections are in. */
function renderReadme(context: object): string {
  return `${render('README.md.hbs', context).replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

/** The C element type of output 0, for the README's snippet. */
function outputCType(graph: Graph): string {
  const o = graph.outputs[0];
  const dtype = o ? graph.tensors[o.tensor]!.dtype : 'int8';
  const ctype: Record<string, string> = { float32: 'float', int8: 'int8_t', uint8: 'uint8_t', int16: 'int16_t', int32: 'int32_t', int64: 'int64_t', bool: 'uint8_t' };
  return ctype[dtype] ?? 'int8_t';
}

/** The example's data: the sample input and the int8 reference's outputs for it. */
function exampleData(graph: Graph, given: Uint8Array[] | undefined): { inputs: Uint8Array[]; outputs: Uint8Array[] } {
  const inputs = graph.inputs.map((gi, k) => {
    const t = graph.tensors[gi.tensor]!;
    const bytes = given?.[k] ?? zeroPointInput(t);
    if (bytes.length !== tensorBytes(t)) {
      throw new UsageError(`the sample input ${k} has ${bytes.length} bytes but input ${k} ('${t.name}') is [${t.shape.join(', ')}] ${t.dtype} (${tensorBytes(t)} bytes): pass a file of exactly that size`);
    }
    return bytes;
  });
  const values = inputs.map((bytes, k) => {
    const t = graph.tensors[graph.inputs[k]!.tensor]!;
    if (!isNpyDType(t.dtype)) throw new UsageError(`input ${k} ('${t.name}') is ${t.dtype}: the example cannot feed it; pass --no-example`);
    return { dtype: t.dtype, shape: [...t.shape], data: typedFromBytes(t.dtype, bytes) };
  });
  const stage = "computing the example's outputs (int8 reference)";
  progress({ stage, done: 0, total: 1 });
  const result = runInt8(graph, values);
  progress({ stage, done: 1, total: 1 });
  return { inputs, outputs: result.outputs.map((o) => bytesOfTyped(o.data)) };
}

function bytesArray(bytes: Uint8Array, index: number) {
  return { index, bytes: bytes.length, slots: Math.max(bytes.length, 1), body: bytes.length > 0 ? arrayBody(bytes, 16, (v) => `0x${v.toString(16).padStart(2, '0')}`) : '  0' };
}

/** A text field for library.properties / library.json: one line of printable ASCII. */
function plainText(text: string, max = 120): string {
  const out = text.replace(/[^\x20-\x7e]/g, '?');
  return out.length > max ? `${out.slice(0, max - 3)}...` : out;
}

/**
 * What the library computes in, for its descriptions: `int8`, `16x8` (int16 activations, int8
 * weights), or `int8 and 16x8` when the graph's activations are both.
 */
export function numericsOf(graph: Graph): string {
  const dtypes = new Set(graph.tensors.filter((t) => !isConstant(t)).map((t) => t.dtype));
  const wide = dtypes.has('int16');
  const narrow = dtypes.has('int8') || dtypes.has('uint8');
  return wide && narrow ? 'int8 and 16x8' : wide ? '16x8' : 'int8';
}

/** One word of a POSIX shell command line: as is when plain, else single-quoted. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function exportLibrary(model: LoadedModel, opts: ExportOptions): ExportedLibrary {
  const { graph } = model;
  const format = opts.format;
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, not '${String(format)}'`);
  }
  const name = checkLibraryName(opts.name ?? defaultLibraryName(model.label));
  const upper = name.toUpperCase();
  const header = `${name}.h`;
  const version = tinymlVersion();
  const label = commentText(model.label, 80);
  const kernelSet = opts.kernels ?? 'portable';
  if (!(KERNEL_SETS as readonly string[]).includes(kernelSet)) throw new UsageError(`--kernels must be portable or dsp, not '${String(kernelSet)}'`);
  // The same generation as `tinyml build` for this kernel set (fused ops, the dsp plan).
  const gen = generateNative(graph, {
    modelBytes: model.bytes,
    modelLabel: model.label,
    buildOptions: { export: format, kernels: kernelSet },
    kernels: kernelSet,
    constBudget: opts.constBudget,
  });

  // The generated model.h becomes the public header's core; model.c includes the public header.
  const modelHeader = gen.files['model.h']!.replace(/^\/\*[\s\S]*?\*\/\n/, '');
  const modelC = gen.files['model.c']!.replace(/^#include "model\.h"$/m, `#include "${header}"`);
  if (!modelC.includes(`#include "${header}"`)) throw new Error('generated model.c does not include model.h');
  const kernels = kernelSourcesFor(modelC);

  const inputs = graph.inputs.map((gi, k) => tensorContext(graph.tensors[gi.tensor]!, 'input', k));
  const outputs = graph.outputs.map((go, k) => tensorContext(graph.tensors[go.tensor]!, 'output', k));
  const common = {
    name,
    upper,
    header,
    version,
    kernelSet,
    modelLabel: label,
    modelHash: gen.modelHash,
    arenaBytes: gen.arenaBytes,
    weightBytes: gen.weightBytes,
    tensors: [...inputs, ...outputs],
    inputs,
    outputs,
  };

  // The library's own files, relative to the library folder; `inc` holds the public header.
  const inc = format === 'arduino' ? 'src' : 'include';
  const lib = new Map<string, string | Uint8Array>();
  lib.set(`${inc}/${header}`, render('public.h.hbs', { ...common, guard: `${upper}_H`, modelHeader, dsp: kernelSet === 'dsp' }));
  lib.set('src/tml_model.c', modelC);
  lib.set('src/tml_model_info.c', render('tml_model_info.c.hbs', { ...common, inputSlots: Math.max(inputs.length, 1), outputSlots: Math.max(outputs.length, 1) }));
  for (const k of kernels) lib.set(`src/${k.file}`, k.text);
  for (const h of readdirSync(KERNEL_INCLUDE_DIR).filter((f) => f.endsWith('.h')).sort()) {
    const text = readFileSync(join(KERNEL_INCLUDE_DIR, h), 'utf8');
    lib.set(`src/${h}`, h === 'tml_dot.h' && kernelSet === 'dsp' ? withDspDefine(text) : text);
  }
  const sources = [...lib.keys()].filter((f) => f.startsWith('src/') && f.endsWith('.c')).map((f) => f.slice(4)).sort();

  const example = opts.example ?? true;
  const sketchName = `${name}_example`;
  const inputSource = opts.sampleSource ?? 'every input at its zero point';
  if (example) {
    const data = exampleData(graph, opts.sampleInputs);
    const exDir = format === 'arduino' ? `examples/${sketchName}` : 'example';
    lib.set(`${exDir}/example_data.h`, render('example_data.h.hbs', { ...common, inputSource: commentText(inputSource, 120) }));
    lib.set(
      `${exDir}/example_data.c`,
      render('example_data.c.hbs', {
        inputs: data.inputs.map(bytesArray),
        outputs: data.outputs.map(bytesArray),
        inputPointers: data.inputs.map((_, k) => `tml_example_input_${k}`).join(', '),
        outputPointers: data.outputs.map((_, k) => `tml_example_expected_${k}`).join(', '),
      }),
    );
    if (format === 'arduino') lib.set(`${exDir}/${sketchName}.ino`, render('example.ino.hbs', { ...common, sketchName }));
    else lib.set(`${exDir}/main.c`, render('main.c.hbs', common));
  }

  const kconfig = `TINYML_${upper}`;
  const ops = graph.ops.map((o) => o.type);
  const opTypes = [...new Set(ops)].sort();
  const numerics = numericsOf(graph);
  const description = `${plainText(model.label, 60)} (model ${gen.modelHash}) as an ${numerics} C library: arena ${gen.arenaBytes} bytes, weights ${gen.weightBytes} bytes. Generated by tinyml.`;
  if (format === 'cmake') lib.set('CMakeLists.txt', render('CMakeLists.txt.hbs', { ...common, sources, example }));
  if (format === 'zephyr') {
    lib.set('zephyr/module.yml', yamlStringify({ name, build: { cmake: '.', kconfig: 'Kconfig' } }));
    lib.set('CMakeLists.txt', render('zephyr-CMakeLists.txt.hbs', { ...common, sources, kconfig }));
    lib.set('Kconfig', render('Kconfig.hbs', { ...common, kconfig }));
  }
  if (format === 'platformio') {
    const manifest = {
      name,
      version: '1.0.0',
      description,
      keywords: ['tinyml', 'tflite', 'int8', 'neural-network'],
      frameworks: '*',
      platforms: '*',
      headers: header,
      build: { srcDir: 'src', includeDir: 'include' },
      ...(example ? { examples: [{ name: sketchName, base: 'example', files: ['main.c', 'example_data.c', 'example_data.h'] }] } : {}),
    };
    lib.set('library.json', `${JSON.stringify(manifest, null, 2)}\n`);
  }
  if (format === 'arduino') {
    // Arduino library specification 1.5: library.properties, recursive src/, examples/.
    lib.set(
      'library.properties',
      [
        `name=${name}`,
        'version=1.0.0',
        'author=tinyml',
        'maintainer=tinyml',
        `sentence=${plainText(model.label, 60)} as an ${numerics} C library (model ${gen.modelHash}), generated by tinyml.`,
        `paragraph=Interpreter-free C for the model: no TensorFlow Lite Micro, no malloc. Arena ${gen.arenaBytes} bytes, weights ${gen.weightBytes} bytes, ops ${opTypes.join(' ')}.`,
        'category=Data Processing',
        'architectures=*',
        `includes=${header}`,
        '',
      ].join('\n'),
    );
  }
  lib.set(
    'README.md',
    renderReadme({
      ...common,
      format,
      isC: format === 'c',
      isCmake: format === 'cmake',
      isArduino: format === 'arduino',
      isPlatformio: format === 'platformio',
      isZephyr: format === 'zephyr',
      dsp: kernelSet === 'dsp',
      example,
      numerics,
      outputCType: outputCType(graph),
      sketchName,
      kconfig,
      inputSource,
      opCount: ops.length,
      opTypes: opTypes.join(', '),
      kernelList: kernels.map((k) => `\`${k.file}\``).join(', ') || 'none',
      // One line in a fenced block: a control character in a path cannot end it.
      command: (opts.command ?? `tinyml export ${shellWord(model.label)} --format ${format} --kernels ${kernelSet}`).replace(/[\x00-\x1f\x7f]/g, '?'),
    }),
  );

  const manifest: ExportManifest = {
    tinymlVersion: version,
    format,
    name,
    model: model.label,
    modelHash: gen.modelHash,
    header: `${inc}/${header}`,
    kernelSet,
    arenaBytes: gen.arenaBytes,
    weightBytes: gen.weightBytes,
    ops,
    kernels: kernels.map((k) => k.file),
    inputs: graph.inputs.map((gi) => summary(graph.tensors[gi.tensor]!)),
    outputs: graph.outputs.map((go) => summary(graph.tensors[go.tensor]!)),
    files: [...lib.keys(), MANIFEST].sort(),
  };
  lib.set(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);

  const libraryDir = format === 'arduino' ? name : '';
  const files = new Map<string, string | Uint8Array>();
  for (const [p, text] of lib) files.set(libraryDir ? `${libraryDir}/${p}` : p, text);
  let zip: string | undefined;
  if (format === 'arduino') {
    // The archive holds the library folder itself, as the IDE's "Add .ZIP Library" expects.
    const entries: Record<string, Uint8Array> = {};
    const enc = new TextEncoder();
    for (const [p, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) entries[p] = typeof text === 'string' ? enc.encode(text) : text;
    zip = `${name}.zip`;
    // A fixed timestamp keeps the archive byte-identical for the same model.
    files.set(zip, zipSync(entries, { level: 9, mtime: new Date(2000, 0, 1) }));
  }
  return { manifest, files, libraryDir, zip };
}

/**
 * Writes an export into `outDir`. A folder that already holds a previous export (its manifest)
 * has that export's files replaced; a folder holding anything else is refused, never cleared.
 */
export function writeExport(outDir: string, exported: ExportedLibrary): string[] {
  const out = resolve(outDir);
  const libDir = exported.libraryDir ? join(out, exported.libraryDir) : out;
  for (const dir of libDir === out ? [out] : [out, libDir]) {
    if (existsSync(dir) && !statSync(dir).isDirectory()) {
      throw new FileError(`${dir} is a file, not a folder: choose a new or empty folder with --out`);
    }
  }
  const previous = previousExport(libDir);
  if (previous === undefined && exported.zip !== undefined && existsSync(join(out, exported.zip))) {
    // The archive sits beside the library folder: never overwrite a .zip no export of ours wrote.
    throw new FileError(`${join(out, exported.zip)} exists and is not part of a tinyml export: move it away or choose another --out`);
  }
  ensureWritableDir(out);
  for (const f of previous ?? []) {
    const p = resolve(libDir, f);
    // Only files inside the library folder: a manifest is read from disk, so it is untrusted.
    if (p.startsWith(`${libDir}/`) && existsSync(p) && !lstatSync(p).isDirectory()) rmSync(p, { force: true });
  }
  const written: string[] = [];
  for (const [rel, contents] of exported.files) {
    const p = join(out, rel);
    try {
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, contents);
    } catch {
      throw new FileError(`cannot write ${p}: choose a writable folder with --out`);
    }
    written.push(p);
  }
  return written;
}

/**
 * The files of the previous export in `libDir` (from its manifest), or undefined when the folder
 * is missing or empty. Throws FileError for a non-empty folder that holds no export of ours.
 */
function previousExport(libDir: string): string[] | undefined {
  let entries: string[];
  try {
    entries = existsSync(libDir) ? readdirSync(libDir) : [];
  } catch {
    throw new FileError(`cannot read the output folder ${libDir}: choose a readable, writable folder with --out`);
  }
  if (entries.length === 0) return undefined;
  const manifestPath = join(libDir, MANIFEST);
  if (!existsSync(manifestPath)) {
    throw new FileError(`${libDir} is not empty and holds no tinyml export (${MANIFEST}): choose a new or empty folder with --out`);
  }
  let files: unknown;
  try {
    files = (JSON.parse(readFileSync(manifestPath, 'utf8')) as { files?: unknown }).files;
  } catch {
    files = undefined;
  }
  if (!Array.isArray(files) || !files.every((f) => typeof f === 'string')) {
    throw new FileError(`${manifestPath} is not a tinyml export manifest: remove the folder or choose another --out`);
  }
  return files as string[];
}

export interface ExportRequest {
  format: string;
  out?: string;
  name?: string;
  /** --input files for the example's sample input, one per model input. */
  inputs?: string[];
  calib?: string;
  example?: boolean;
  command?: string;
  /** --kernels: portable or dsp (default: the board's, as `tinyml build`; portable without --board). */
  kernels?: string;
  /** --board: the target board; picks the default kernel set and the flash budget of dsp weights. */
  board?: string;
}

export interface ExportResult {
  manifest: ExportManifest;
  /** The output folder, the library folder inside it, and the .zip (arduino). */
  outDir: string;
  libraryDir: string;
  zip: string | null;
  /** Every file written (absolute paths). */
  written: string[];
  quantizedWithCalib: boolean;
  warnings: string[];
}

export function defaultExportDir(format: string): string {
  return `export/${format}`;
}

/** `tinyml export`: loads the model once, exports it in `req.format` and writes the folder. */
export function exportModel(modelPath: string, req: ExportRequest): ExportResult {
  if (!(EXPORT_FORMATS as readonly string[]).includes(req.format)) {
    throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, not '${req.format}'`);
  }
  if (req.name !== undefined) checkLibraryName(req.name);
  if (req.kernels !== undefined && !(KERNEL_SETS as readonly string[]).includes(req.kernels)) {
    throw new UsageError(`--kernels must be portable or dsp, not '${req.kernels}'`);
  }
  const board = req.board !== undefined ? getBoard(req.board) : undefined;
  const kernels = (req.kernels as KernelSet | undefined) ?? (board ? defaultKernels(board) : 'portable');
  if (board && kernels === 'dsp' && !board.dsp) {
    throw new BoardError(`the dsp kernel set needs the Armv7E-M DSP instructions and ${board.id} (${board.cpu}) has none: export with --kernels portable`);
  }
  const model = loadInt8Model(modelPath, req.calib, 'an export');
  const warnings = model.calibIgnored ? [`--calib ignored: ${modelPath} is already quantized, so its own scales are used`] : [];
  const example = req.example ?? true;
  if (!example && req.inputs && req.inputs.length > 0) throw new UsageError('--input gives the example its sample input: drop --input or --no-example');
  const sampleInputs = req.inputs && req.inputs.length > 0 ? bakedInputs(model.graph, req.inputs) : undefined;
  const out = req.out ?? defaultExportDir(req.format);
  const command =
    req.command ??
    [
      'tinyml', 'export', modelPath, '--format', req.format, '--out', out,
      ...(req.name !== undefined ? ['--name', req.name] : []),
      ...(req.board !== undefined ? ['--board', req.board] : []),
      '--kernels', kernels,
      ...(req.inputs && req.inputs.length > 0 ? ['--input', ...req.inputs] : []),
      ...(req.calib !== undefined ? ['--calib', req.calib] : []),
      ...(example ? [] : ['--no-example']),
    ].map(shellWord).join(' ');
  const exported = exportLibrary(model, {
    format: req.format as ExportFormat,
    name: req.name,
    sampleInputs,
    sampleSource: sampleInputs ? `from ${req.inputs!.map((f) => basename(f)).join(', ')}` : undefined,
    example,
    command,
    kernels,
    constBudget: board ? constBudget(board, model.graph) : undefined,
  });
  const outDir = resolve(out);
  const written = writeExport(outDir, exported);
  return {
    manifest: exported.manifest,
    outDir,
    libraryDir: exported.libraryDir ? join(outDir, exported.libraryDir) : outDir,
    zip: exported.zip ? join(outDir, exported.zip) : null,
    written,
    quantizedWithCalib: model.quantizedWithCalib,
    warnings,
  };
}
