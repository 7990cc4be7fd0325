/**
 * Sketch configurations per Arduino core family: which core platform (and version) builds a
 * board's FQBN, whether the pinned TFLite Micro library supports it, and the kernel set of the
 * native runtime. These pins go into each sketch's sketch.yaml build profile, so
 * `arduino-cli compile --profile <name>` builds the same way on every machine.
 *
 * The TFLite Micro library: the official Arduino_TensorFlowLite was withdrawn from the Arduino
 * Library Manager (tensorflow/tflite-micro-arduino-examples is archived and never was in the
 * index). Chirale_TensorFLowLite (Spazio Chirale, in the Library Manager, Apache-2.0; the odd
 * capital L is its registered name) packages TensorFlow Lite Micro for the Mbed OS Arduino
 * cores (architectures mbed_nano, mbed_nicla, mbed_portenta) and ESP32, and exposes the
 * upstream headers (tensorflow/lite/micro/...). Boards outside those architectures get the
 * native runtime, which needs no library at all.
 */
import { BoardError } from '../errors.ts';
import type { Board } from '../boards/registry.ts';
import { defaultKernels, type KernelSet } from '../build/firmware.ts';

export type ArduinoRuntime = 'tflm' | 'native';

export interface TflmLibrary {
  /** Library Manager name, exactly as registered. */
  name: string;
  version: string;
  /** The library's main header (what `#include <...>` pulls it in). */
  header: string;
  /** Architectures its library.properties declares. */
  architectures: string[];
}

/**
 * The pinned library: 2.0.0 is the first release with Chirale_TensorFlowLite.h (1.x had
 * TensorFlowLite.h), and the one whose op resolver, kernels and arena tinyml's tables and
 * measurements describe (src/arduino/tflm-ops.ts, arena.ts). Architectures as its
 * library.properties declares them.
 */
export const TFLM_LIBRARY: TflmLibrary = {
  name: 'Chirale_TensorFLowLite',
  version: '2.0.0',
  header: 'Chirale_TensorFlowLite.h',
  architectures: ['mbed_nano', 'esp32', 'mbed_nicla', 'mbed_portenta', 'mbed_giga'],
};

export interface CorePin {
  /** vendor:architecture, e.g. arduino:mbed_nano. */
  platform: string;
  version: string;
  /** Board Manager index of a third-party core (absent for Arduino's own index). */
  indexUrl?: string;
  /** The install line printed when the core is missing. */
  install: string;
}

/** Core platform pins by vendor:architecture. */
export const CORE_PINS: Readonly<Record<string, CorePin>> = {
  'arduino:mbed_nano': { platform: 'arduino:mbed_nano', version: '4.2.1', install: 'arduino-cli core install arduino:mbed_nano@4.2.1' },
  'arduino:mbed_rp2040': { platform: 'arduino:mbed_rp2040', version: '4.2.1', install: 'arduino-cli core install arduino:mbed_rp2040@4.2.1' },
  'arduino:mbed_nicla': { platform: 'arduino:mbed_nicla', version: '4.2.1', install: 'arduino-cli core install arduino:mbed_nicla@4.2.1' },
  'arduino:mbed_portenta': { platform: 'arduino:mbed_portenta', version: '4.2.1', install: 'arduino-cli core install arduino:mbed_portenta@4.2.1' },
  'STMicroelectronics:stm32': {
    platform: 'STMicroelectronics:stm32',
    version: '2.9.0',
    indexUrl: 'https://github.com/stm32duino/BoardManagerFiles/raw/main/package_stmicroelectronics_index.json',
    install:
      'arduino-cli core install STMicroelectronics:stm32@2.9.0 --additional-urls https://github.com/stm32duino/BoardManagerFiles/raw/main/package_stmicroelectronics_index.json',
  },
};

export interface SketchConfig {
  board: Board;
  fqbn: string;
  /** vendor:architecture of the FQBN. */
  platform: string;
  architecture: string;
  core: CorePin;
  /** The library the TFLM runtime needs, or null when the runtime is native. */
  library: TflmLibrary | null;
  runtime: ArduinoRuntime;
  /** Native kernel set: the board's default (dsp on cores with the DSP extension, else portable). */
  kernels: KernelSet;
  /** Serial the report goes to. */
  reportSerial: 'Serial' | 'Serial1';
  /** Profile name in sketch.yaml. */
  profile: string;
}

/** Splits an FQBN into vendor, architecture and board id. */
export function parseFqbn(fqbn: string): { vendor: string; architecture: string; boardId: string } {
  const [vendor, architecture, boardId] = fqbn.split(':');
  return { vendor: vendor!, architecture: architecture!, boardId: boardId! };
}

/** True when the pinned TFLite Micro library declares the board's architecture. */
export function tflmSupports(board: Board): boolean {
  return board.fqbn !== null && TFLM_LIBRARY.architectures.includes(parseFqbn(board.fqbn).architecture);
}

/**
 * The sketch configuration of a board and runtime. Refuses (BoardError) a board without an
 * FQBN, an FQBN family without a pinned core, and the TFLM runtime on an architecture the
 * library does not support, each with what to do instead.
 */
export function sketchConfig(board: Board, runtime: ArduinoRuntime, reportSerial?: 'Serial' | 'Serial1'): SketchConfig {
  if (board.fqbn === null) {
    throw new BoardError(`board '${board.id}' has no Arduino core (no FQBN): use \`tinyml build\`/\`tinyml run\` for it, or pick an Arduino board (\`tinyml boards\`)`);
  }
  const { vendor, architecture } = parseFqbn(board.fqbn);
  const platform = `${vendor}:${architecture}`;
  const core = CORE_PINS[platform];
  if (core === undefined) {
    throw new BoardError(`no pinned Arduino core for ${platform} (board ${board.id}): add one to CORE_PINS in src/arduino/profiles.ts`);
  }
  if (runtime === 'tflm' && !tflmSupports(board)) {
    throw new BoardError(
      `the TFLite Micro library ${TFLM_LIBRARY.name} does not support ${platform} (board ${board.id}): use --runtime native, which needs no library`,
    );
  }
  const serial = reportSerial ?? (board.report_serial === 'Serial1' ? 'Serial1' : 'Serial');
  return {
    board,
    fqbn: board.fqbn,
    platform,
    architecture,
    core,
    library: runtime === 'tflm' ? TFLM_LIBRARY : null,
    runtime,
    kernels: defaultKernels(board),
    reportSerial: serial,
    profile: `${board.id}-${runtime}`,
  };
}

/**
 * The configuration of a sketch that tinyml builds itself, with its bare-metal Arduino core, for
 * an emulated board (QEMU): no FQBN, no arduino-cli, no sketch.yaml; the report goes to the
 * board's UART (Serial).
 */
export function emulatedSketchConfig(board: Board, runtime: ArduinoRuntime): SketchConfig {
  const core: CorePin = { platform: 'tinyml:baremetal', version: 'builtin', install: 'part of tinyml (firmware/platform/arduino-baremetal)' };
  return {
    board,
    fqbn: `tinyml:baremetal:${board.id}`,
    platform: core.platform,
    architecture: 'baremetal',
    core,
    library: runtime === 'tflm' ? TFLM_LIBRARY : null,
    runtime,
    kernels: 'portable',
    reportSerial: 'Serial',
    profile: `${board.id}-${runtime}`,
  };
}

/** A YAML scalar for free text (a board's name from boards/*.json): plain when safe, else quoted. */
function yamlText(text: string): string {
  return /^[A-Za-z0-9][\w .()+,/-]*$/.test(text) ? text : JSON.stringify(text);
}

/** sketch.yaml with one pinned build profile, set as the default. */
export function sketchYaml(cfg: SketchConfig): string {
  const lines = [
    '# Generated by tinyml: a pinned build profile for `arduino-cli compile --profile ' + cfg.profile + '`.',
    'profiles:',
    `  ${cfg.profile}:`,
    `    notes: ${yamlText(`tinyml ${cfg.runtime} runtime for ${cfg.board.name}`)}`,
    `    fqbn: ${cfg.fqbn}`,
    '    platforms:',
    `      - platform: ${cfg.core.platform} (${cfg.core.version})`,
  ];
  if (cfg.core.indexUrl) lines.push(`        platform_index_url: ${cfg.core.indexUrl}`);
  if (cfg.library) {
    lines.push('    libraries:', `      - ${cfg.library.name} (${cfg.library.version})`);
  }
  lines.push(`default_profile: ${cfg.profile}`, '');
  return lines.join('\n');
}
