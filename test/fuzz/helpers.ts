// Shared pieces of the hostile-input tests: real lines and whole captures from fixtures/, the CLI
// run in process with its output captured, temp files.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { main } from '../../src/cli/main.js';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
export const MT_MIXED = join(FIXTURES, 'native-6.18-2cpu/mt-mixed');

/** the decompressed text of a fixture file */
export function fixture(rel: string): Buffer {
  return gunzipSync(readFileSync(join(FIXTURES, rel)));
}

/** Raw ftrace header and lines of native-6.18-2cpu/mt-mixed (ftrace.txt.gz, lines 1-6 and 13-21). */
export const HEADER = [
  '# tracer: nop',
  '#',
  '# entries-in-buffer/entries-written: 33429/33429   #P:2',
  '#',
  '#           TASK-PID       TGID    CPU#  |||||  TIMESTAMP  FUNCTION',
  '#              | |           |       |   |||||     |         |',
];
export const L = {
  flush4: '            bash-5045    (   5045) [000] ...1.  1354.137805: tlb_flush: pages:-1 reason:remote IPI send (4)',
  queue: '            bash-5045    (   5045) [000] ...2.  1354.137806: csd_queue_cpu: cpu=1 callsite=on_each_cpu_cond_mask+0x20/0x60 func=flush_tlb_func csd=0000000069199808',
  ipi: '            bash-5045    (   5045) [000] ...2.  1354.137807: ipi_send_cpu: cpu=1 callsite=on_each_cpu_cond_mask+0x20/0x60 callback=generic_smp_call_function_single_interrupt+0x0/0x10',
  entry0: '            bash-5045    (   5045) [000] d..2.  1354.137843: csd_function_entry: func=flush_tlb_func, csd=0000000000000000',
  cfse: '          <idle>-0       (-------) [001] d.h1.  1354.137847: call_function_single_entry: vector=251',
  entry1: '          <idle>-0       (-------) [001] d.h1.  1354.137848: csd_function_entry: func=flush_tlb_func, csd=0000000069199808',
  flush5: '          <idle>-0       (-------) [001] d.h1.  1354.137849: tlb_flush: pages:0 reason:remote wrong CPU (5)',
  exit1: '          <idle>-0       (-------) [001] d.h1.  1354.137849: csd_function_exit: func=flush_tlb_func, csd=0000000069199808',
  fork: '            bash-5045    (   5045) [000] .....  1354.137856: sched_process_fork: comm=bash pid=5045 child_comm=bash child_pid=5050',
};
export const BODY = [L.flush4, L.queue, L.ipi, L.entry0, L.cfse, L.entry1, L.flush5, L.exit1, L.fork];
/** the same events as `trace-cmd report` prints them (trace-cmd-report.txt.gz, lines 2-4) */
export const TC = [
  '            bash-5045  [000]  1354.137805: tlb_flush:            pages=-1 reason= (4)',
  '            bash-5045  [000]  1354.137806: csd_queue_cpu:        cpu=1 callsite=on_each_cpu_cond_mask+0x20 func=flush_tlb_func csd=0xffff888627d2e420',
  '            bash-5045  [000]  1354.137807: ipi_send_cpu:         cpu=1 callsite=on_each_cpu_cond_mask+0x20 callback=generic_smp_call_function_single_interrupt+0x0',
];

export const text = (lines: string[], eol = '\n'): string => lines.join(eol) + eol;

export class TmpDir {
  readonly path = mkdtempSync(join(tmpdir(), 'tlbtrace-hostile-'));
  file(name: string, content: string | Buffer): string {
    const p = join(this.path, name);
    writeFileSync(p, content);
    return p;
  }
  join(name: string): string {
    return join(this.path, name);
  }
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `tlbtrace ARGS...` through main(), in process, output captured (no TTY: no colours, no progress). */
export async function cli(...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const ow = process.stdout.write;
  const ew = process.stderr.write;
  process.stdout.write = ((s: string | Uint8Array) => ((stdout += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((stderr += String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'tlbtrace', ...args]);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

/** Replace every occurrence of `from` in `buf` by the bytes `to` (comm surgery on a whole capture). */
export function replaceBytes(buf: Buffer, from: string, to: Buffer): Buffer {
  const f = Buffer.from(from);
  const parts: Buffer[] = [];
  let p = 0;
  for (let i = buf.indexOf(f); i >= 0; i = buf.indexOf(f, p)) {
    parts.push(buf.subarray(p, i), to);
    p = i + f.length;
  }
  parts.push(buf.subarray(p));
  return Buffer.concat(parts);
}
