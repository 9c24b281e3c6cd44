// Rewrites a real raw-ftrace capture so its CPUs are spread over a much larger machine: every CPU
// number (the `[CPU]` column, `cpu=N` targets, `orig_cpu`/`dest_cpu`, cpumasks) goes through
// `map`, the header declares `cpus`, and cpumasks are printed as the kernel prints them for that
// many CPUs (`%*pb`: ceil(cpus/32) 32-bit hex words, most significant first).

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export function hexMask(cpus: readonly number[], nCpus: number): string {
  const words = new Uint32Array(Math.max(2, Math.ceil(nCpus / 32)));
  for (const c of cpus) words[c >> 5]! |= 1 << (c & 31);
  return [...words].reverse().map((w) => w.toString(16).padStart(8, '0')).join(',');
}

function maskCpus(hex: string): number[] {
  const out: number[] = [];
  const words = hex.split(',').reverse();
  words.forEach((w, i) => {
    const v = parseInt(w, 16);
    for (let b = 0; b < 32; b++) if (v & (1 << b)) out.push(i * 32 + b);
  });
  return out;
}

export function remapFtrace(text: string, map: (cpu: number) => number, nCpus: number): string {
  return text
    .replace(/#P:\d+/, `#P:${nCpus}`)
    .replace(/\) \[(\d+)\] /g, (_, c: string) => `) [${String(map(Number(c))).padStart(3, '0')}] `)
    .replace(/ (cpu|orig_cpu|dest_cpu)=(\d+)/g, (_, k: string, c: string) => ` ${k}=${map(Number(c))}`)
    .replace(/cpumask=([0-9a-f,]+)/g, (_, m: string) => `cpumask=${hexMask(maskCpus(m).map(map), nCpus)}`);
}

export function fixtureText(path: string): string {
  return gunzipSync(readFileSync(path)).toString('utf8');
}
