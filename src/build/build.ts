/**
 * `tinyml build`: model file -> (quantize with --calib if float) -> native C firmware for a
 * board. Returns data; src/cli/commands/build.ts prints it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { UsageError } from '../errors.ts';
import { importModel, readModelBytes } from '../formats/load.ts';
import { tensorBytes } from '../ir/graph.ts';
import { loadInput } from '../infer/inputs.ts';
import { bytesOfTyped } from '../data/npy.ts';
import { loadSamples } from '../quantize/calib-data.ts';
import { DEFAULT_QUANTIZE_OPTIONS, quantizeFloatGraph } from '../quantize/convert.ts';
import { buildFirmware, DEFAULT_OPT, isFloatGraph, sizeSummary, type FirmwareBuild, type GeneratedFirmware, type KernelSet, type OptLevel } from './firmware.ts';

export interface BuildOptions {
  board: string;
  out?: string;
  opt?: string;
  inputs?: string[];
  calib?: string;
  kernels?: string;
  profile?: boolean;
  runs?: number;
  /** Write the sources and a Makefile, compile nothing (see buildFirmware). */
  generateOnly?: boolean;
}

export interface BuildResult extends FirmwareBuild {
  model: string;
  /** True when --calib quantized a float model on the way. */
  quantized: boolean;
  summary: string[];
  /** Things the user asked for that did not apply (shown as warnings). */
  warnings: string[];
}

/** A generate-only build: the sources and Makefile written, nothing compiled. */
export interface GeneratedBuildResult extends GeneratedFirmware {
  model: string;
  quantized: boolean;
  warnings: string[];
}

export function defaultOutDir(board: string): string {
  return `build/${board}`;
}

export function build(modelPath: string, opts: BuildOptions & { generateOnly: true }): GeneratedBuildResult;
export function build(modelPath: string, opts: BuildOptions & { generateOnly?: false }): BuildResult;
export function build(modelPath: string, opts: BuildOptions): BuildResult | GeneratedBuildResult;
export function build(modelPath: string, opts: BuildOptions): BuildResult | GeneratedBuildResult {
  const optimize = opts.opt ?? DEFAULT_OPT;
  if (optimize !== 's' && optimize !== '2') throw new UsageError(`--opt must be s or 2, not '${optimize}'`);
  const kernels = opts.kernels;
  if (kernels !== undefined && kernels !== 'portable' && kernels !== 'dsp') throw new UsageError(`--kernels must be portable or dsp, not '${kernels}'`);
  const modelBytes = readModelBytes(modelPath);
  let graph = importModel(modelBytes, modelPath);
  let quantized = false;
  const warnings: string[] = [];
  if (opts.calib && !isFloatGraph(graph)) {
    warnings.push(`--calib ignored: ${modelPath} is already quantized, so its own scales are used`);
  }
  if (isFloatGraph(graph)) {
    if (!opts.calib) {
      throw new UsageError(`${modelPath} is a float model and the native backend runs int8: pass --calib <data> (representative inputs) to quantize it on the way`);
    }
    graph = quantizeFloatGraph(graph, loadSamples(opts.calib, graph), DEFAULT_QUANTIZE_OPTIONS).graph;
    quantized = true;
  }
  let inputs: Uint8Array[] | undefined;
  if (opts.inputs && opts.inputs.length > 0) {
    if (opts.inputs.length !== graph.inputs.length) {
      throw new UsageError(`the model has ${graph.inputs.length} input(s) but ${opts.inputs.length} --input file(s) were given: pass one --input per model input, in order`);
    }
    inputs = opts.inputs.map((f, i) => {
      const t = graph.tensors[graph.inputs[i]!.tensor]!;
      // Raw .bin files of exactly the tensor's bytes are taken as they are; anything else goes
      // through the same loader as `tinyml infer` (.npy, float -> quantized, layouts).
      if (f.endsWith('.bin') && existsSync(f)) {
        const bytes = new Uint8Array(readFileSync(f));
        if (bytes.length === tensorBytes(t)) return bytes;
      }
      return new Uint8Array(bytesOfTyped(loadInput(f, graph, i).value.data));
    });
  }
  const fw = buildFirmware({
    graph,
    modelBytes,
    modelPath,
    board: opts.board,
    outDir: opts.out ?? defaultOutDir(opts.board),
    inputs,
    optimize: optimize as OptLevel,
    kernels: kernels as KernelSet | undefined,
    profile: opts.profile,
    runs: opts.runs,
    generateOnly: opts.generateOnly,
  });
  if (fw.generatedOnly) return { ...fw, model: modelPath, quantized, warnings };
  return { ...fw, model: modelPath, quantized, summary: sizeSummary(fw.sizes), warnings };
}
