/**
 * tinyml.ci.json: the models, boards and budgets of a repository's firmware CI, written by
 * `tinyml ci init` and read by `tinyml run --budgets <file>` in every matrix job. The same object
 * may live under the "tinyml" key of package.json.
 *
 *   {
 *     "emulator": "renode",
 *     "models": ["models/kws.tflite"],
 *     "boards": ["nano33ble", "stm32f4-discovery"],
 *     "budgets": {
 *       "*":                          { "maxStack": 4096 },
 *       "nano33ble":                  { ... },          every model on this board
 *       "models/kws.tflite":          { ... },          this model on every board
 *       "models/kws.tflite@nano33ble": { "maxInstructions": 19000000, "maxArena": 17600, "maxFlash": 50000 }
 *     }
 *   }
 *
 * Budgets merge from the least to the most specific key: "*", board, model, "model@board".
 * Values are positive integers: instructions per inference, bytes of arena, flash and stack.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { FileError, UsageError } from '../errors.ts';
import type { Budgets } from '../run/run.ts';

export const CI_CONFIG_FILE = 'tinyml.ci.json';
export const BUDGET_KEYS = ['maxInstructions', 'maxArena', 'maxFlash', 'maxStack'] as const;
export type BudgetKey = (typeof BUDGET_KEYS)[number];
export type BudgetSet = Partial<Record<BudgetKey, number>>;

export interface CiConfig {
  emulator?: 'renode' | 'qemu';
  models: string[];
  boards: string[];
  budgets: Record<string, BudgetSet>;
}

function bad(file: string, what: string): UsageError {
  return new UsageError(`${file}: ${what}: fix the file (docs/renode.md, "tinyml.ci.json")`);
}

/** Checks a parsed config object; returns it typed. */
export function validateCiConfig(raw: unknown, file: string): CiConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad(file, 'not a JSON object');
  const o = raw as Record<string, unknown>;
  const strings = (key: string): string[] => {
    const v = o[key];
    if (!Array.isArray(v) || v.length === 0 || v.some((s) => typeof s !== 'string' || s.length === 0)) throw bad(file, `"${key}" must be a non-empty list of strings`);
    return v as string[];
  };
  const models = strings('models');
  const boards = strings('boards');
  if (o['emulator'] !== undefined && o['emulator'] !== 'renode' && o['emulator'] !== 'qemu') throw bad(file, '"emulator" must be "renode" or "qemu"');
  const budgetsRaw = o['budgets'] ?? {};
  if (budgetsRaw === null || typeof budgetsRaw !== 'object' || Array.isArray(budgetsRaw)) throw bad(file, '"budgets" must be an object of budget sets');
  const budgets: Record<string, BudgetSet> = {};
  for (const [key, set] of Object.entries(budgetsRaw as Record<string, unknown>)) {
    if (set === null || typeof set !== 'object' || Array.isArray(set)) throw bad(file, `budgets."${key}" must be an object such as { "maxArena": 20000 }`);
    const out: BudgetSet = {};
    for (const [name, value] of Object.entries(set as Record<string, unknown>)) {
      if (!(BUDGET_KEYS as readonly string[]).includes(name)) throw bad(file, `budgets."${key}".${name} is not a budget (use ${BUDGET_KEYS.join(', ')})`);
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) throw bad(file, `budgets."${key}".${name} must be a positive integer`);
      out[name as BudgetKey] = value;
    }
    budgets[key] = out;
  }
  return { ...(o['emulator'] ? { emulator: o['emulator'] as 'renode' | 'qemu' } : {}), models, boards, budgets };
}

/** Reads tinyml.ci.json, or the "tinyml" key of a package.json. */
export function readCiConfig(file: string): CiConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FileError(`cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'}): write it with \`tinyml ci init\` or check the path`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw bad(file, `not valid JSON (${(e as Error).message})`);
  }
  if (basename(file) === 'package.json') {
    const inner = (raw as Record<string, unknown> | null)?.['tinyml'];
    if (inner === undefined) throw bad(file, 'no "tinyml" key (the CI config goes there, or in tinyml.ci.json)');
    return validateCiConfig(inner, `${file} "tinyml"`);
  }
  return validateCiConfig(raw, file);
}

/** The budgets for one model on one board, merged from "*", board, model and "model@board". */
export function budgetsFor(config: CiConfig, model: string, board: string): Budgets {
  const merged: BudgetSet = {};
  for (const key of ['*', board, model, `${model}@${board}`]) Object.assign(merged, config.budgets[key] ?? {});
  return {
    maxInstructions: merged.maxInstructions,
    maxArena: merged.maxArena,
    maxFlash: merged.maxFlash,
    maxStack: merged.maxStack,
  };
}
