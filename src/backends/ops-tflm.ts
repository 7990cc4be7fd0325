/**
 * Op types the 'tflm' backend can run: TensorFlow Lite Micro firmware (the Arduino sketch). The
 * set is the keys of the op-resolver method table the sketch generator registers ops from
 * (src/arduino/tflm-ops.ts), so `tinyml inspect` says "TFLM" exactly for the ops the generated
 * MicroMutableOpResolver can register.
 */
import { TFLM_RESOLVER_METHODS } from '../arduino/tflm-ops.ts';

export const tflmOps: ReadonlySet<string> = new Set<string>(Object.keys(TFLM_RESOLVER_METHODS));
