/** A Markdown table for docs/benchmarks.md: one header row, alignments (`l`eft, `r`ight), rows. */
export function table(headers: string[], rows: string[][], align: ('l' | 'r')[]): string {
  return [
    `| ${headers.join(' | ')} |`,
    `|${align.map((a) => (a === 'l' ? ':---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}
