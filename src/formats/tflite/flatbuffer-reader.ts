/**
 * A bounds-checked view of a flatbuffer. Model files are untrusted: every offset, vtable,
 * vector length and field read is checked against the buffer before it is used, and every
 * failure becomes an InvalidModelError with a one-line message. Primitive reads go through
 * the `flatbuffers` package's ByteBuffer once the range is known to be inside the buffer.
 *
 * Allocation is bounded too: a vector's length must fit in the bytes after it before anything
 * is allocated for it, and a decode budget caps the total number of elements decoded, so a
 * file whose tables all point at one huge vector cannot multiply its size in memory.
 */
import { ByteBuffer } from 'flatbuffers';
import { InvalidModelError } from '../../errors.ts';

const FIX = 're-export or re-download the model';

export class FlatbufferReader {
  readonly bb: ByteBuffer;
  readonly size: number;
  /** Elements still allowed to be decoded (vectors, strings) before we call the file hostile. */
  private budget: number;

  constructor(readonly bytes: Uint8Array, readonly fileName: string) {
    this.bb = new ByteBuffer(bytes);
    this.size = bytes.length;
    this.budget = 4 * bytes.length + 1_000_000;
  }

  /** A structural problem: the bytes are not a valid model. */
  corrupt(what: string): never {
    throw new InvalidModelError(`${this.fileName} is not a valid TFLite model: ${what}; ${FIX}`);
  }

  truncated(pos: number): never {
    throw new InvalidModelError(`${this.fileName} is truncated: the flatbuffer points past its end at byte ${pos}; ${FIX}`);
  }

  /** Requires bytes [pos, pos+len) to be inside the buffer. */
  need(pos: number, len: number): void {
    if (!Number.isSafeInteger(pos) || pos < 0) this.corrupt(`an offset points before the start of the file (${pos})`);
    if (pos + len > this.size) this.truncated(pos + len);
  }

  spend(elements: number, what: string): void {
    this.budget -= elements;
    if (this.budget < 0) this.corrupt(`${what} makes the file decode to far more data than it holds (tables sharing one vector many times)`);
  }

  u8(pos: number): number { this.need(pos, 1); return this.bb.readUint8(pos); }
  i8(pos: number): number { this.need(pos, 1); return this.bb.readInt8(pos); }
  u16(pos: number): number { this.need(pos, 2); return this.bb.readUint16(pos); }
  i16(pos: number): number { this.need(pos, 2); return this.bb.readInt16(pos); }
  i32(pos: number): number { this.need(pos, 4); return this.bb.readInt32(pos); }
  u32(pos: number): number { this.need(pos, 4); return this.bb.readUint32(pos); }
  f32(pos: number): number { this.need(pos, 4); return this.bb.readFloat32(pos); }
  f64(pos: number): number { this.need(pos, 8); return this.bb.readFloat64(pos); }
  /** 64-bit integers as numbers; values beyond 2^53 are not meaningful in a model. */
  i64(pos: number): number {
    this.need(pos, 8);
    const v = this.bb.readInt64(pos);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) this.corrupt(`a 64-bit value at byte ${pos} is out of range (${v})`);
    return Number(v);
  }
  u64(pos: number): number {
    this.need(pos, 8);
    const v = this.bb.readUint64(pos);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.corrupt(`a 64-bit value at byte ${pos} is out of range (${v})`);
    return Number(v);
  }

  /** Follows the unsigned offset stored at `pos` (flatbuffers uoffset_t). */
  deref(pos: number): number {
    const target = pos + this.u32(pos);
    if (target >= this.size) this.truncated(target);
    return target;
  }

  /** The root table: the uoffset at byte 0. */
  root(): FbTable {
    if (this.size < 8) this.truncated(8);
    return new FbTable(this, this.deref(0));
  }

  identifier(): string {
    if (this.size < 8) return '';
    return String.fromCharCode(this.u8(4), this.u8(5), this.u8(6), this.u8(7));
  }
}

/** A vector's element range, already known to be inside the buffer. */
export interface VectorRange {
  start: number;
  length: number;
}

/** Scalar base types of the schema and their sizes. */
const SCALAR_SIZE: Record<string, number> = {
  bool: 1, byte: 1, ubyte: 1, short: 2, ushort: 2, int: 4, uint: 4, float: 4, long: 8, ulong: 8, double: 8,
};

export function scalarSize(type: string): number {
  return SCALAR_SIZE[type] ?? 0;
}

export class FbTable {
  private readonly vtable: number;
  private readonly vtableSize: number;
  private readonly objectSize: number;

  constructor(private readonly r: FlatbufferReader, readonly pos: number) {
    const vtable = pos - r.i32(pos);
    if (vtable < 0 || vtable + 4 > r.size) r.corrupt(`the table at byte ${pos} has its vtable outside the file (at ${vtable})`);
    const vtableSize = r.u16(vtable);
    const objectSize = r.u16(vtable + 2);
    if (vtableSize < 4 || vtableSize % 2 !== 0) r.corrupt(`the table at byte ${pos} has a malformed vtable (size ${vtableSize})`);
    if (objectSize < 4) r.corrupt(`the table at byte ${pos} has a malformed vtable (object size ${objectSize})`);
    r.need(vtable, vtableSize);
    r.need(pos, objectSize);
    this.vtable = vtable;
    this.vtableSize = vtableSize;
    this.objectSize = objectSize;
  }

  /** Absolute position of field `id`, or 0 when absent. `width` bytes must lie inside the table. */
  field(id: number, width: number): number {
    const slot = 4 + 2 * id;
    if (slot + 2 > this.vtableSize) return 0;
    const off = this.r.u16(this.vtable + slot);
    if (off === 0) return 0;
    if (off < 4 || off + width > this.objectSize) this.r.corrupt(`field ${id} of the table at byte ${this.pos} lies outside the table`);
    return this.pos + off;
  }

  has(id: number): boolean {
    return this.field(id, 0) !== 0;
  }

  bool(id: number, def = false): boolean {
    const p = this.field(id, 1);
    return p ? this.r.u8(p) !== 0 : def;
  }
  i8(id: number, def = 0): number { const p = this.field(id, 1); return p ? this.r.i8(p) : def; }
  u8(id: number, def = 0): number { const p = this.field(id, 1); return p ? this.r.u8(p) : def; }
  i32(id: number, def = 0): number { const p = this.field(id, 4); return p ? this.r.i32(p) : def; }
  u32(id: number, def = 0): number { const p = this.field(id, 4); return p ? this.r.u32(p) : def; }
  f32(id: number, def = 0): number { const p = this.field(id, 4); return p ? this.r.f32(p) : def; }
  u64(id: number, def = 0): number { const p = this.field(id, 8); return p ? this.r.u64(p) : def; }

  /** A scalar field of the given schema base type. */
  scalar(id: number, type: string, def: number | boolean): number | boolean {
    const p = this.field(id, scalarSize(type));
    if (!p) return def;
    switch (type) {
      case 'bool': return this.r.u8(p) !== 0;
      case 'byte': return this.r.i8(p);
      case 'ubyte': return this.r.u8(p);
      case 'short': return this.r.i16(p);
      case 'ushort': return this.r.u16(p);
      case 'int': return this.r.i32(p);
      case 'uint': return this.r.u32(p);
      case 'float': return this.r.f32(p);
      case 'double': return this.r.f64(p);
      case 'long': return this.r.i64(p);
      case 'ulong': return this.r.u64(p);
      default: return def;
    }
  }

  table(id: number): FbTable | null {
    const p = this.field(id, 4);
    return p ? new FbTable(this.r, this.r.deref(p)) : null;
  }

  /** A vector field whose elements are `elemSize` bytes; its extent is checked. */
  vector(id: number, elemSize: number): VectorRange | null {
    const p = this.field(id, 4);
    if (!p) return null;
    const at = this.r.deref(p);
    const length = this.r.u32(at);
    const start = at + 4;
    // Check the length against the bytes left before anything is allocated for it.
    if (length > (this.r.size - start) / Math.max(elemSize, 1)) this.r.truncated(start + length * elemSize);
    return { start, length };
  }

  string(id: number): string | null {
    const v = this.vector(id, 1);
    if (!v) return null;
    this.r.spend(v.length, 'a string');
    return new TextDecoder('utf-8', { fatal: false }).decode(this.r.bytes.subarray(v.start, v.start + v.length));
  }

  /** A vector of scalars decoded to numbers (booleans as 0/1). */
  numbers(id: number, type: string): number[] | null {
    const size = scalarSize(type);
    const v = this.vector(id, size);
    if (!v) return null;
    this.r.spend(v.length, 'a vector');
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) {
      const p = v.start + i * size;
      const x = this.scalarAt(p, type);
      out[i] = x;
    }
    return out;
  }

  /** Raw bytes of a [ubyte] vector (a view into the file, not a copy). */
  bytes(id: number): Uint8Array | null {
    const v = this.vector(id, 1);
    return v ? this.r.bytes.subarray(v.start, v.start + v.length) : null;
  }

  /** Number of entries of a vector of tables, and an accessor for entry i. */
  tables(id: number): { length: number; at(i: number): FbTable } {
    const v = this.vector(id, 4);
    const r = this.r;
    if (!v) return { length: 0, at: () => r.corrupt('a missing table vector was indexed') };
    r.spend(v.length, 'a table vector');
    return { length: v.length, at: (i: number) => new FbTable(r, r.deref(v.start + 4 * i)) };
  }

  private scalarAt(p: number, type: string): number {
    switch (type) {
      case 'bool': return this.r.u8(p) !== 0 ? 1 : 0;
      case 'byte': return this.r.i8(p);
      case 'ubyte': return this.r.u8(p);
      case 'short': return this.r.i16(p);
      case 'ushort': return this.r.u16(p);
      case 'int': return this.r.i32(p);
      case 'uint': return this.r.u32(p);
      case 'float': return this.r.f32(p);
      case 'double': return this.r.f64(p);
      case 'long': return this.r.i64(p);
      case 'ulong': return this.r.u64(p);
      default: return this.r.corrupt(`unsupported vector element type ${type}`);
    }
  }
}
