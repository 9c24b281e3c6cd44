// Number formatting and the plain-text table of the benchmark's report.

export const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

export function fmtS(s: number | undefined): string {
  return s === undefined || !Number.isFinite(s) ? '-' : s.toFixed(s < 10 ? 3 : 2);
}
export function fmtRate(r: number | undefined): string {
  return r === undefined || !Number.isFinite(r) ? '-' : (r / 1e6).toFixed(r < 1e6 ? 3 : 2);
}
export function fmtMB(b: number | undefined): string {
  return b === undefined ? '-' : `${(b / 1e6).toFixed(1)} MB`;
}
export function fmtX(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '-' : `${x.toFixed(x < 10 ? 2 : 1)}x`;
}
export function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}

export const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

export const short = (capture: string) => capture.split('/').pop()!;

export function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

export function renderTable(rows: string[][], rightCols: Set<number>): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => pad(c, w[i]!, rightCols.has(i))).join('  ').trimEnd()).join('\n') + '\n';
}
