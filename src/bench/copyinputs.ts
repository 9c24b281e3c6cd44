// The N-copy inputs of the benchmark's steady-state rows, made once per capture (untimed):
//   trace.dat --trace-cmd convert--> v6 uncompressed --datcopies.ts--> N copies (v6)
//     --trace-cmd convert--> Nx.dat in the original's own form (version, compression)
//     --trace-cmd report--> Nx.txt
// The round trip through v6 is because the copy writer edits ring-buffer pages in place, which
// only the uncompressed v6 layout has as plain bytes. Converting back keeps the measured trace.dat
// the same kind of file as the capture (v7 zstd for the shared ones), so the Nx rows time the
// same decompression work per event as the 1x rows.

import { spawn } from 'node:child_process';
import { closeSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { RandomAccessFile } from '../ingest/tracedat/file.js';
import { readTraceDatInfo, type TraceDatInfo } from '../ingest/tracedat/header.js';
import { writeDatCopies, type DatCopiesResult } from './datcopies.js';

export interface CopyInputs {
  copies: number;
  /** the N-copy trace.dat, in the form of the original */
  dat: string;
  /** `trace-cmd report` of it */
  text: string;
  datBytes: number;
  textBytes: number;
  /** the original's form, matched by `dat` */
  version: number;
  compression: string;
  /** what the copy writer did (shift in ns) */
  written: DatCopiesResult;
  /** every file made, for removal */
  files: string[];
}

async function datInfo(file: string): Promise<TraceDatInfo> {
  const f = await RandomAccessFile.open(file);
  try {
    return await readTraceDatInfo(f);
  } finally {
    await f.close();
  }
}

/** Run a command to completion; stdout to `stdoutFile` or dropped. Rejects with stderr's tail on failure. */
function run(cmd: string, args: string[], stdoutFile?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = stdoutFile === undefined ? undefined : openSync(stdoutFile, 'w');
    const child = spawn(cmd, args, { stdio: ['ignore', fd ?? 'ignore', 'pipe'] });
    if (fd !== undefined) closeSync(fd); // the child has its own copy
    let err = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      err = (err + s).slice(-2000);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')}: ${signal ?? `exit code ${code}`}${err.trim() ? `: ${err.trim().split('\n').slice(-2).join(' | ')}` : ''}`));
    });
  });
}

/**
 * Make `copies` copies of the capture `dat` in `dir` (file names start with `prefix`). Needs
 * trace-cmd on the PATH. On failure, removes what it made and rethrows.
 */
export async function makeCopyInputs(dat: string, copies: number, dir: string, prefix: string, log: (msg: string) => void): Promise<CopyInputs> {
  const files: string[] = [];
  const file = (name: string): string => {
    const p = path.join(dir, `${prefix}.${name}`);
    files.push(p);
    return p;
  };
  try {
    const orig = await datInfo(dat);
    const compression = orig.version === 6 ? 'none' : orig.compression;
    let v6 = dat;
    if (orig.version !== 6) {
      v6 = file('v6.dat');
      log(`trace-cmd convert --file-version 6 --compression none (for the copy writer)`);
      await run('trace-cmd', ['convert', '--file-version', '6', '--compression', 'none', '-i', dat, '-o', v6]);
    }
    const nxV6 = file(`${copies}x.v6.dat`);
    log(`writing ${copies} copies`);
    const written = await writeDatCopies(v6, nxV6, copies);
    let nx = nxV6;
    if (orig.version !== 6) {
      nx = file(`${copies}x.dat`);
      log(`trace-cmd convert --file-version ${orig.version} --compression ${compression} (the form of the capture)`);
      await run('trace-cmd', ['convert', '--file-version', String(orig.version), '--compression', compression, '-i', nxV6, '-o', nx]);
      for (const f of [v6, nxV6]) rmSync(f, { force: true });
    }
    const got = await datInfo(nx);
    if (got.version !== orig.version || got.compression !== orig.compression || got.cpuDataCompressed !== orig.cpuDataCompressed) {
      throw new Error(
        `the ${copies}-copy trace.dat is version ${got.version}, ${got.compression}${got.cpuDataCompressed ? '' : ' (data uncompressed)'}; the capture is version ${orig.version}, ${orig.compression}${orig.cpuDataCompressed ? '' : ' (data uncompressed)'}`,
      );
    }
    const text = file(`${copies}x.txt`);
    log(`trace-cmd report ${path.basename(nx)} > ${path.basename(text)}`);
    await run('trace-cmd', ['report', nx], `${text}.tmp`);
    renameSync(`${text}.tmp`, text);
    return { copies, dat: nx, text, datBytes: statSync(nx).size, textBytes: statSync(text).size, version: orig.version, compression, written, files };
  } catch (e) {
    for (const f of files) {
      rmSync(f, { force: true });
      rmSync(`${f}.tmp`, { force: true });
    }
    throw e;
  }
}
