/**
 * docs/benchmarks.md is shared by the benchmarks: each one owns the text between its own
 * `<!-- bench:<name>:start -->` and `<!-- bench:<name>:end -->` markers, and everything else is kept.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const INTRO = `# Benchmarks

Each section below is written by a benchmark in \`bench/\` between its own markers; run
\`npm run bench\` to refresh them (\`npm run bench -- pool\`, \`-- silo\` or \`-- retention\` for one).
Text outside the markers is kept.
`;

export function sectionMarkers(name: string): { start: string; end: string } {
  return { start: `<!-- bench:${name}:start -->`, end: `<!-- bench:${name}:end -->` };
}

/**
 * Replaces the named section with `body` (markers added here); if it is not there yet, puts it
 * right after section `after` when that one is there (a subsection of it), else at the end.
 */
export function writeMarkedSection(
  file: string,
  name: string,
  body: string,
  { after }: { after?: string } = {},
): void {
  const { start, end } = sectionMarkers(name);
  const section = `${start}\n${body.trim()}\n${end}`;
  const current = existsSync(file) ? readFileSync(file, 'utf8') : INTRO;
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const afterEnd = after ? sectionMarkers(after).end : undefined;
  const at = afterEnd && current.includes(afterEnd) ? current.indexOf(afterEnd) + afterEnd.length : -1;
  const next =
    from >= 0 && to > from
      ? `${current.slice(0, from)}${section}${current.slice(to + end.length)}`
      : at >= 0
        ? `${current.slice(0, at)}\n\n${section}${current.slice(at)}`
        : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
}
