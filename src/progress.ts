/**
 * Progress of long steps (compiling firmware, emulating, evaluating samples, computing
 * reference outputs), reported by the code doing them and drawn by the CLI: src/cli/main.ts
 * installs a sink for the command it runs (a progress bar on a terminal, nothing for --json or a
 * pipe). Code below the CLI only reports; it never prints.
 */
export interface ProgressUpdate {
  /** What is being done, for people: "building firmware for mps2-an386". */
  stage: string;
  done: number;
  total: number;
}

let sink: ((p: ProgressUpdate) => void) | null = null;

/** Installs the function that shows progress (null: none). */
export function setProgressSink(fn: ((p: ProgressUpdate) => void) | null): void {
  sink = fn;
}

/** Reports progress of a step; a no-op unless the CLI installed a sink. */
export function progress(p: ProgressUpdate): void {
  sink?.(p);
}
