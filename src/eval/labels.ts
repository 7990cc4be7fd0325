/**
 * Labels for `tinyml eval --labels`: one class index per sample, from .npy (integers [N], or
 * one-hot / scores [N, C] whose argmax is the class), .json (an array of integers or of
 * one-hot arrays), or text (one integer per line).
 */
import { extname } from 'node:path';
import { DataError } from '../errors.ts';
import { parseNpy, readDataFile } from '../data/npy.ts';
import { argmax } from './metrics.ts';

export function loadLabels(path: string): number[] {
  const ext = extname(path).toLowerCase();
  const bytes = readDataFile(path);
  if (ext === '.npy') {
    const v = parseNpy(bytes, path);
    const n = v.shape[0] ?? 1;
    const per = v.shape.slice(1).reduce((a, b) => a * b, 1);
    const nums = Array.from(v.data as ArrayLike<number | bigint>, (x) => Number(x));
    if (per === 1) return checkInts(nums, path);
    return Array.from({ length: n }, (_, k) => argmax(nums.slice(k * per, (k + 1) * per)));
  }
  const text = Buffer.from(bytes).toString('utf8');
  if (ext === '.json') {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new DataError(`${path} is not valid JSON (${(e as Error).message}): store an array of class indices`);
    }
    if (!Array.isArray(doc)) throw new DataError(`${path} is not an array: store [3, 1, 4, ...], one class index per sample`);
    return doc.map((x, k) => {
      if (Array.isArray(x)) return argmax(x as number[]);
      if (typeof x !== 'number') throw new DataError(`${path} label ${k} is ${JSON.stringify(x)}: use integer class indices`);
      return checkInts([x], path)[0]!;
    });
  }
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  return checkInts(lines.map(Number), path);
}

function checkInts(nums: number[], path: string): number[] {
  nums.forEach((x, k) => {
    if (!Number.isInteger(x) || x < 0) throw new DataError(`${path} label ${k} is ${x}, not a class index: use non-negative integers`);
  });
  return nums;
}
