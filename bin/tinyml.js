#!/usr/bin/env node
// Entry point of the `tinyml` binary: runs the compiled JavaScript in dist/ (scripts/build-dist.js,
// run on `npm install` and by scripts/setup.sh), so no TypeScript transpiler runs at start.
// In a checkout whose src/ changed since dist/ was built, dist/ is rebuilt first: an edit is
// never run stale.
import { distIsStale } from '../scripts/build-dist.js';

if (distIsStale()) {
  const { buildDist } = await import('../scripts/build-dist.js');
  try {
    await buildDist();
  } catch (e) {
    process.stderr.write(`tinyml: dist/ is missing or older than src/ and could not be rebuilt (${e.message.split('\n')[0]}): run \`npm install\` (or \`npm run build\`) in ${new URL('..', import.meta.url).pathname}\n`);
    process.exit(1);
  }
}
const { main } = await import('../dist/main.js');
process.exitCode = await main(process.argv);
