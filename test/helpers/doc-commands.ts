/**
 * The example commands of README.md and docs/*.md, as a reader copies them: every line of a
 * fenced block that starts with `tinyml` or `node bin/tinyml.js` (optionally after `$ `), with
 * `\` continuations joined and trailing `# comments` dropped, and the output the page shows for
 * it (the rest of a `$ ` block, or the plain block right after a block holding only commands).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './shared.ts';

export interface DocCommand {
  /** e.g. docs/run.md:9 */
  where: string;
  /** The command line as written (joined), without the `$ ` prompt and the program name. */
  line: string;
  /** Shell words after the program name. */
  args: string[];
  /** A usage synopsis (`<model>`, `[--json]`, `a|b`), not a command to run. */
  synopsis: boolean;
  /** The output lines the page shows for it, if any. */
  output: string[] | null;
}

const PROGRAM = /^(?:\$ )?(?:node bin\/tinyml\.js|tinyml)(?: (.*))?$/;

/** Shell-like word split: quotes group, backslash escapes; variables stay as written. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let any = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      any = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      cur += line[++i];
      any = true;
    } else if (/\s/.test(ch)) {
      if (any || cur) words.push(cur);
      cur = '';
      any = false;
    } else cur += ch;
  }
  if (any || cur) words.push(cur);
  return words;
}

/** Drops a trailing shell comment (` # ...` outside quotes). */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '#' && i > 0 && /\s/.test(line[i - 1]!)) return line.slice(0, i).trimEnd();
  }
  return line;
}

export function docPages(): string[] {
  return ['README.md', ...readdirSync(join(PROJECT_ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
}

export function docCommands(page: string): DocCommand[] {
  const text = readFileSync(join(PROJECT_ROOT, page), 'utf8');
  const blocks = [...text.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!.trim(), body: m[2]!, line: text.slice(0, m.index).split('\n').length + 1 }));
  const out: DocCommand[] = [];
  blocks.forEach((block, b) => {
    // Join continuation lines, remembering where each logical line starts.
    const raw = block.body.replace(/\n$/, '').split('\n');
    const lines: { text: string; at: number }[] = [];
    for (let i = 0; i < raw.length; i++) {
      let t = raw[i]!;
      const at = block.line + i;
      while (t.endsWith('\\') && i + 1 < raw.length) t = `${t.slice(0, -1).trimEnd()} ${raw[++i]!.trim()}`;
      lines.push({ text: t, at });
    }
    const found: DocCommand[] = [];
    let current: DocCommand | null = null;
    let prompted = false;
    for (const l of lines) {
      // `bash scripts/setup.sh && node bin/tinyml.js ...`: the tinyml part.
      const chained = /&& ((?:node bin\/tinyml\.js|tinyml) .*)$/.exec(l.text);
      if (chained) l.text = chained[1]!;
      const m = PROGRAM.exec(l.text.trim());
      if (m && (l.text.startsWith('$ ') || l.text.startsWith('tinyml') || l.text.startsWith('node bin/tinyml.js'))) {
        const line = stripComment(m[1] ?? '');
        prompted = l.text.startsWith('$ ');
        current = {
          where: `${page}:${l.at}`,
          line,
          args: shellWords(line),
          synopsis: /<[^>]+>|\[[^\]]*\]|(^|\s)\S+\|\S+/.test(line.replace(/"[^"]*"|'[^']*'/g, '')),
          output: prompted ? [] : null,
        };
        found.push(current);
      } else if (current && prompted) current.output!.push(l.text);
    }
    // A block holding one command, then a plain block without commands, right after it or after
    // a sentence that introduces it (ending with a colon): that block is the output.
    const next = blocks[b + 1];
    if (found.length === 1 && !prompted && found[0]!.output === null && lines.every((l) => PROGRAM.test(l.text.trim()) || !l.text.trim()) && next) {
      const nextLines = next.body.replace(/\n$/, '').split('\n');
      // Lines between this block's closing fence and the next block's opening fence.
      const between = text.split('\n').slice(block.line + raw.length, next.line - 2).join('\n').trim();
      if ((between === '' || between.endsWith(':')) && next.lang === '' && !nextLines.some((l) => PROGRAM.test(l.trim()))) found[0]!.output = nextLines;
    }
    out.push(...found);
  });
  return out;
}

/**
 * The shape of an output line: its leading words up to the first number, path, quote or
 * bracket (`  latency     17,150,581 instructions` -> `latency`), or null for an elision
 * (`...`) or an empty line.
 */
export function lineLabel(line: string): string | null {
  const t = line.trim();
  if (t === '' || t === '...' || t.startsWith('…')) return null;
  const m = /^[^\d"'/([{<.~-]*/.exec(t);
  const label = (m?.[0] ?? '').trim().replace(/\s+/g, ' ');
  return label === '' ? t.slice(0, 1) : label;
}
