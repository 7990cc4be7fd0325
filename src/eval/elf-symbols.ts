/**
 * Where a symbol's bytes live in an ELF32 little-endian file (Arm firmware): enough of the ELF
 * format (section headers, .symtab, .strtab) to find a const array the compiler emitted and
 * rewrite it in a copy of the file. `tinyml eval --device` uses it to swap the baked input of
 * one firmware build instead of compiling a firmware per sample.
 */
import { DeviceError } from '../errors.ts';

const SHT_SYMTAB = 2;
const SHT_NOBITS = 8;

export interface SymbolBytes {
  /** Offset of the symbol's first byte in the file. */
  fileOffset: number;
  size: number;
  /** Load address. */
  address: number;
}

/** Finds `name` in the ELF's symbol table; throws DeviceError when the file has no such data symbol. */
export function symbolBytes(elf: Uint8Array, name: string): SymbolBytes {
  const view = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const bad = (why: string) => new DeviceError(`cannot locate ${name} in the firmware ELF (${why}): rebuild the firmware`);
  if (elf.length < 52 || view.getUint32(0) !== 0x7f454c46 || elf[4] !== 1 || elf[5] !== 1) throw bad('not a 32-bit little-endian ELF');
  const shoff = view.getUint32(0x20, true);
  const shentsize = view.getUint16(0x2e, true);
  const shnum = view.getUint16(0x30, true);
  if (shoff === 0 || shoff + shnum * shentsize > elf.length) throw bad('no section headers');
  const section = (i: number) => {
    const o = shoff + i * shentsize;
    return {
      type: view.getUint32(o + 4, true),
      addr: view.getUint32(o + 12, true),
      offset: view.getUint32(o + 16, true),
      size: view.getUint32(o + 20, true),
      link: view.getUint32(o + 24, true),
    };
  };
  const decoder = new TextDecoder();
  for (let s = 0; s < shnum; s++) {
    const symtab = section(s);
    if (symtab.type !== SHT_SYMTAB) continue;
    const strtab = section(symtab.link);
    for (let o = symtab.offset; o + 16 <= symtab.offset + symtab.size; o += 16) {
      const nameOff = strtab.offset + view.getUint32(o, true);
      let end = nameOff;
      while (end < elf.length && elf[end] !== 0) end++;
      if (decoder.decode(elf.subarray(nameOff, end)) !== name) continue;
      const value = view.getUint32(o + 4, true);
      const size = view.getUint32(o + 8, true);
      const home = section(view.getUint16(o + 14, true));
      if (home.type === SHT_NOBITS || value < home.addr || value + size > home.addr + home.size) throw bad('the symbol has no bytes in the file');
      return { fileOffset: home.offset + (value - home.addr), size, address: value };
    }
  }
  throw bad('no such symbol');
}
