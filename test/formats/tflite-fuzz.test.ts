/**
 * Robust parsing (issue 2, item 5): 1,000 mutated copies of every shared .tflite model (bit
 * flips, truncations, duplicated byte ranges) go through importTflite. Each must either import
 * or fail with our typed error; nothing else may escape, and no single import may take 2 s
 * (a hang detector, not a performance assertion). Mutations come from a seeded generator, so
 * a failure names a reproducible case.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TinymlError } from '../../src/errors.ts';
import { importTflite } from '../../src/formats/tflite/import.ts';
import { MODELS } from '../helpers/shared.ts';

const MUTANTS_PER_MODEL = 1000;

function findTflite(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...findTflite(p));
    else if (p.endsWith('.tflite')) out.push(p);
  }
  return out.sort();
}

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

/** One mutated copy: kind 0 flips bits, 1 truncates, 2 duplicates a range over another spot. */
function mutate(src: Uint8Array, rnd: () => number, kind: number): Uint8Array {
  if (kind === 1) return src.slice(0, rnd() % src.length);
  const out = src.slice();
  if (kind === 0) {
    const flips = 1 + (rnd() % 8);
    // Bias half the flips towards the first 4 KiB, where the tables and offsets live.
    for (let i = 0; i < flips; i++) {
      const pos = rnd() % 2 === 0 ? rnd() % Math.min(4096, out.length) : rnd() % out.length;
      out[pos]! ^= 1 << (rnd() % 8);
    }
    return out;
  }
  const len = 1 + (rnd() % 256);
  const from = rnd() % Math.max(out.length - len, 1);
  const to = rnd() % Math.max(out.length - len, 1);
  out.copyWithin(to, from, from + len);
  return out;
}

describe('importTflite survives mutated models', () => {
  const files = findTflite(MODELS);
  it('has models to mutate', () => expect(files.length).toBeGreaterThanOrEqual(11));
  for (const [m, path] of files.entries()) {
    it(`${relative(MODELS, path)}: ${MUTANTS_PER_MODEL} mutants import or fail with a typed error`, () => {
      const src = new Uint8Array(readFileSync(path));
      const rnd = xorshift(0x9e3779b9 ^ (m * 7919));
      let rejected = 0;
      let slowest = 0;
      for (let k = 0; k < MUTANTS_PER_MODEL; k++) {
        const bytes = mutate(src, rnd, k % 3);
        const t0 = performance.now();
        try {
          importTflite(bytes, 'mutant.tflite');
        } catch (e) {
          if (!(e instanceof TinymlError)) throw new Error(`mutant ${k} of ${path} escaped as ${(e as Error)?.stack ?? e}`);
          expect(e.message, `mutant ${k}`).not.toContain('\n');
          rejected++;
        }
        slowest = Math.max(slowest, performance.now() - t0);
      }
      expect(slowest).toBeLessThan(2000);
      // Truncations alone are a third of the mutants and always fail.
      expect(rejected).toBeGreaterThan(MUTANTS_PER_MODEL / 3 - 1);
    });
  }
});
