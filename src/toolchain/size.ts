/**
 * Reading sizes out of a linked ELF with binutils: `size -A` for sections and `nm -S` for the
 * symbols, so read-only data (weights) can be told apart from code inside .text.
 */
import { ToolFailedError } from '../errors.ts';
import { requireTool, runTool } from './tools.ts';

export interface SectionSizes {
  /** Section name -> bytes, from `size -A`. */
  sections: Record<string, number>;
}

/** Parses `size -A` output: lines "name size addr". */
export function parseSizeA(text: string): SectionSizes {
  const sections: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\.\S+)\s+(\d+)\s+(\d+)\s*$/.exec(line.trim());
    if (m) sections[m[1]!] = Number(m[2]);
  }
  if (Object.keys(sections).length === 0) throw new ToolFailedError('size -A printed no sections: the ELF file looks broken, rebuild it');
  return { sections };
}

export function elfSections(elf: string, prefix = 'arm-none-eabi-'): SectionSizes {
  const size = requireTool(`${prefix}size`);
  return parseSizeA(runTool(size, ['-A', '-d', elf], { what: `${prefix}size -A` }).stdout);
}

/**
 * Bytes of the input sections whose names start with `prefix` (e.g. '.rodata') that a GNU ld
 * map file (-Wl,-Map) places in the output, i.e. after "Linker script and memory map" (input
 * sections discarded by --gc-sections are listed before it). Handles names long enough that
 * ld wraps the address and size onto the next line.
 */
export function mapSectionBytes(mapText: string, prefix: string): number {
  const start = mapText.indexOf('Linker script and memory map');
  const lines = (start >= 0 ? mapText.slice(start) : mapText).split('\n');
  let total = 0;
  const esc = prefix.replace(/\./g, '\\.');
  const sameLine = new RegExp(`^ (${esc}\\S*)\\s+0x[0-9a-fA-F]+\\s+(0x[0-9a-fA-F]+)`);
  const nameOnly = new RegExp(`^ (${esc}\\S*)\\s*$`);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    let m = sameLine.exec(line);
    if (m) {
      total += parseInt(m[2]!, 16);
      continue;
    }
    if (nameOnly.test(line)) {
      m = /^\s+0x[0-9a-fA-F]+\s+(0x[0-9a-fA-F]+)/.exec(lines[i + 1] ?? '');
      if (m) {
        total += parseInt(m[1]!, 16);
        i++;
      }
    }
  }
  return total;
}
