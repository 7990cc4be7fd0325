/**
 * The pinned TensorFlow Lite Micro library in ../shared/third_party (unmodified
 * Chirale_TensorFLowLite 2.0.0) and the build cache every TFLM test shares: a fixed folder under
 * the OS temp, keyed by content inside (tflm-archive.ts), so the library compiles at most once
 * per machine and test files running side by side wait for one another's compile instead of
 * repeating it.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedPath } from './shared.ts';

export const TFLM_LIB_PARENT = sharedPath('third_party');
export const TFLM_LIB_ROOT = sharedPath('third_party/Chirale_TensorFlowLite-2.0.0');
export const TFLM_SRC = join(TFLM_LIB_ROOT, 'src');
export const TFLM_KERNELS_DIR = join(TFLM_SRC, 'tensorflow/lite/micro/kernels');
export const TFLM_TEST_CACHE = join(tmpdir(), 'tinyml-test-tflm-cache');

/** Points this test file (and the CLI processes it starts) at the shared TFLM build cache. */
export function useTflmCache(): void {
  process.env['TINYML_CACHE'] = TFLM_TEST_CACHE;
}

export function readLibrary(rel: string): string {
  return readFileSync(join(TFLM_SRC, rel), 'utf8');
}
