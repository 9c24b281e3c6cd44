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

export { BODY, HEADER, L } from '../../src/ingest/testutil.js';
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
