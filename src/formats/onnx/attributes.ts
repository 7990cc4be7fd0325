/**
 * Typed access to ONNX node attributes with their defaults. A malformed attribute (wrong type,
 * absurd value) is an InvalidModelError naming the node, never a silent default.
 */
import onnxProto from 'onnx-proto';
import { InvalidModelError } from '../../errors.ts';
import { int64ToNumber } from './tensor.ts';

type AttributeProto = onnxProto.onnx.IAttributeProto;
type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProtoLike = onnxProto.onnx.ITensorProto;

/** AttributeProto.AttributeType numbers (onnx.proto). */
const FLOAT = 1, INT = 2, STRING = 3, TENSOR = 4, FLOATS = 6, INTS = 7;

export class NodeAttributes {
  private readonly byName = new Map<string, AttributeProto>();

  constructor(private readonly node: NodeProto, private readonly label: string) {
    for (const a of node.attribute ?? []) {
      if (typeof a.name === 'string') this.byName.set(a.name, a);
    }
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  private bad(name: string, expected: string): InvalidModelError {
    return new InvalidModelError(`${this.label}: attribute '${name}' is not ${expected}: the model is corrupt, re-export it`);
  }

  private get(name: string, type: number, expected: string): AttributeProto | undefined {
    const a = this.byName.get(name);
    if (!a) return undefined;
    // Very old exporters leave `type` unset (0); accept them when the value field is there.
    if (a.type && a.type !== type) throw this.bad(name, expected);
    return a;
  }

  int(name: string, dflt: number): number {
    const a = this.get(name, INT, 'an integer');
    if (!a) return dflt;
    const v = int64ToNumber(a.i);
    if (!Number.isSafeInteger(v)) throw this.bad(name, 'a representable integer');
    return v;
  }

  float(name: string, dflt: number): number {
    const a = this.get(name, FLOAT, 'a float');
    if (!a) return dflt;
    const v = a.f ?? 0;
    if (typeof v !== 'number' || Number.isNaN(v)) throw this.bad(name, 'a number');
    return v;
  }

  string(name: string, dflt: string): string {
    const a = this.get(name, STRING, 'a string');
    if (!a) return dflt;
    return Buffer.from(a.s ?? new Uint8Array(0)).toString('utf8');
  }

  ints(name: string): number[] | undefined {
    const a = this.get(name, INTS, 'a list of integers');
    if (!a) return undefined;
    const out = (a.ints ?? []).map((x) => int64ToNumber(x));
    if (out.length > 64 || out.some((v) => !Number.isSafeInteger(v))) throw this.bad(name, 'a short list of integers');
    return out;
  }

  floats(name: string): number[] | undefined {
    const a = this.get(name, FLOATS, 'a list of floats');
    if (!a) return undefined;
    return [...(a.floats ?? [])];
  }

  tensor(name: string): TensorProtoLike | undefined {
    const a = this.get(name, TENSOR, 'a tensor');
    if (!a) return undefined;
    if (!a.t) throw this.bad(name, 'a tensor');
    return a.t;
  }

  /** The node this reads, for callers that need other fields. */
  get proto(): NodeProto {
    return this.node;
  }
}
