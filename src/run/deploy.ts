/**
 * `tinyml deploy <model> --board <emulated board>`: the whole path in one call. A float model is
 * quantized first (needs --calib; src/quantize), then the int8 model is built and run in the
 * board's emulator (QEMU or Renode) exactly as `tinyml run` does. Real boards are flashed by `tinyml flash` and watched with
 * `tinyml monitor`; deploy says so instead of guessing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { FileError, UsageError } from '../errors.ts';
import { loadModelFile } from '../load/model.ts';
import { ensureWritableDir, isQuantizedGraph } from '../build/firmware.ts';
import { convertModel, DEFAULT_QUANTIZE_OPTIONS, type ConvertSummary } from '../quantize/convert.ts';
import { emulatedBoard, runOnEmulator, type RunOptions, type RunResult } from './run.ts';

export interface DeployOptions extends Omit<RunOptions, 'model' | 'elf'> {
  model: string;
  /** Calibration data for a float model. */
  calib?: string;
}

export interface DeployResult {
  /** The int8 model that was built (the input model when it was int8 already); null when it was converted into a temporary folder that is gone. */
  int8Model: string | null;
  converted: ConvertSummary | null;
  run: RunResult;
}

export async function deploy(opts: DeployOptions): Promise<DeployResult> {
  emulatedBoard(opts.board, { emulator: opts.emulator, renodePath: opts.renodePath }); // a board without an emulator fails before any work
  // Read once: an int8 model goes to the build as loaded; a float one to the converter.
  const model = loadModelFile(opts.model);
  const float = !isQuantizedGraph(model.graph);
  if (float && !opts.calib) {
    throw new UsageError(`${basename(opts.model)} is a float model: pass --calib <data> (representative inputs) so deploy can quantize it to int8 first`);
  }
  let int8Model = opts.model;
  let converted: ConvertSummary | null = null;
  const temporary = opts.outDir === undefined ? mkdtempSync(join(tmpdir(), `tinyml-deploy-${basename(opts.model).replace(/\W+/g, '_')}-`)) : undefined;
  const outDir = opts.outDir ?? temporary!;
  if (float) {
    ensureWritableDir(outDir);
    int8Model = join(outDir, `${basename(opts.model, extname(opts.model))}_int8.tflite`);
    // The pinned TFLite Micro requantizes FULLY_CONNECTED per-tensor only (tflm-ops.ts): for it,
    // FULLY_CONNECTED weights are quantized per-tensor, as TFLite's converter does.
    converted = convertModel(opts.model, opts.calib!, { ...DEFAULT_QUANTIZE_OPTIONS, fcPerChannel: opts.runtime !== 'tflm', output: int8Model });
  }
  const run = await runOnEmulator({ ...opts, model: int8Model, loaded: float ? undefined : model, outDir: join(outDir, 'firmware') });
  // A temporary folder goes after a successful run (a failure above leaves it for inspection).
  if (temporary !== undefined && !opts.keep) {
    rmSync(temporary, { recursive: true, force: true });
    if (run.build) run.build.outDir = null;
    return { int8Model: converted ? null : int8Model, converted, run };
  }
  return { int8Model, converted, run };
}
