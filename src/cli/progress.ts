/**
 * Progress bars for long steps (calibration, the quality pass, eval, builds), drawn with
 * cli-progress on stderr when it is a terminal and the output is not --json; otherwise nothing
 * is drawn, so pipes, CI logs and JSON output stay clean.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Reports `done` of `total` units of `stage`; a new stage starts a new bar. */
  update(p: { stage: string; done: number; total: number }): void;
  /** Removes the bar (call before printing the result). */
  stop(): void;
}

const NONE: Progress = { update() {}, stop() {} };

export function createProgress(opts: { json?: boolean }): Progress {
  if (opts.json || !process.stderr.isTTY) return NONE;
  let bar: cliProgress.SingleBar | undefined;
  let stage = '';
  return {
    update(p) {
      if (!bar || p.stage !== stage) {
        bar?.stop();
        stage = p.stage;
        bar = new cliProgress.SingleBar(
          { format: `${p.stage.padEnd(32)} {bar} {value}/{total} {eta_formatted}`, stream: process.stderr, clearOnComplete: true, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.total, p.done);
      } else bar.update(p.done);
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
