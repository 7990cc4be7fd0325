#!/usr/bin/env node
// Entry point of the `tinyml` binary: runs the TypeScript sources through tsx, so there is no
// build step whose output could go stale.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
