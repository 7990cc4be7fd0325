/**
 * Which kernel sources (firmware/kernels/*.c) a generated model.c needs: the files defining
 * the tml_* functions and tables it references, and, transitively, what those files reference
 * from other kernel files. An export ships exactly these, so a model with three op types does
 * not carry the LSTM.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KERNELS_DIR } from '../build/paths.ts';

export interface KernelSource {
  /** File name inside firmware/kernels/. */
  file: string;
  text: string;
}

/** Identifiers tml_* that `text` mentions. */
function referenced(text: string): Set<string> {
  return new Set(text.match(/\btml_[A-Za-z0-9_]+\b/g) ?? []);
}

/**
 * External definitions in a kernel file: a non-static declaration at the start of a line whose
 * name is followed by `(` (a function with a body) or `[`/`=` (a table), and the first argument
 * of a file-level macro that defines one.
 */
function defined(text: string): Set<string> {
  const names = new Set<string>();
  const re = /^(?!static\b|extern\b|typedef\b|#)[A-Za-z_][^;{}()#]*?\b(tml_[A-Za-z0-9_]+)\s*([([=])/gm;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[2] === '(') {
      // A function: a definition has its body `{` before any `;` (a prototype ends with `);`).
      const brace = text.indexOf('{', m.index);
      const semi = text.indexOf(';', m.index);
      if (brace < 0 || (semi >= 0 && semi < brace)) continue;
    }
    names.add(m[1]!);
  }
  // Definitions stamped out by a macro at file level: `TML_DEFINE_SVDF(tml_svdf_s8_s16, ...)`.
  for (const m of text.matchAll(/^[A-Z][A-Z0-9_]*\(\s*(tml_[A-Za-z0-9_]+)\s*[,)]/gm)) names.add(m[1]!);
  return names;
}

/** Every kernel source file of the firmware, read once. */
export function allKernelSources(dir = KERNELS_DIR): KernelSource[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.c'))
    .sort()
    .map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') }));
}

/** The kernel files `code` needs, sorted by name. */
export function kernelSourcesFor(code: string, sources = allKernelSources()): KernelSource[] {
  const owner = new Map<string, KernelSource>();
  for (const s of sources) for (const name of defined(s.text)) owner.set(name, s);
  const chosen = new Set<KernelSource>();
  const pending = [...referenced(code)];
  while (pending.length > 0) {
    const src = owner.get(pending.pop()!);
    if (src === undefined || chosen.has(src)) continue;
    chosen.add(src);
    pending.push(...referenced(src.text));
  }
  return [...chosen].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/**
 * The kernels' tml_dot.h for sources built outside tinyml's own build (an export, an Arduino
 * sketch) with the dsp kernel set: TML_KERNELS_DSP defined in the header itself, which `tinyml
 * build` passes with -D, so the other build system needs no flag.
 */
export function withDspDefine(text: string): string {
  const guard = '#define TML_DOT_H\n';
  if (!text.includes(guard)) throw new Error('firmware/include/tml_dot.h has no include guard TML_DOT_H');
  return text.replace(guard, `${guard}\n/* Built with the dsp kernel set (tinyml export --kernels dsp, or an Arduino sketch for a DSP core). */\n#ifndef TML_KERNELS_DSP\n#define TML_KERNELS_DSP 1\n#endif\n`);
}
