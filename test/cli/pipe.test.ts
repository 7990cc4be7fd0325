/** A reader that closes the pipe early (`tinyml inspect m | head`) must not get a stack trace. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { PROJECT_ROOT, sharedPath } from '../helpers/shared.ts';

describe('closed stdout pipe', () => {
  it('exits 0 without a stack trace when the reader stops early', () => {
    const model = sharedPath('models/mlperf-tiny/ic/pretrainedResnet_quant.tflite');
    const r = spawnSync('bash', ['-c', `node bin/tinyml.js inspect '${model}' | head -1; exit "\${PIPESTATUS[0]}"`], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect(r.status).toBe(0);
  });
});
