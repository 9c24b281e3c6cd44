// The trace.dat writer, against files trace-cmd made. A real recording in file version 6
// (fixtures/tracedat-variants/mt-munmap.v6.dat.gz, written by `trace-cmd convert`) is taken apart
// into what a recording has (format texts, kallsyms, cmdlines, each CPU's ring-buffer pages as a
// spool file) and written again by writeTraceDat(): our reader must decode exactly the events of
// the original, and trace-cmd report (when installed: .ci/run installs it) must print the same
// lines for both.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../events/types.js';
import { Diagnostics } from '../ingest/diagnostics.js';
import { openTraceDat, readTraceDatInfo } from '../ingest/tracedat/index.js';
import { RandomAccessFile } from '../ingest/tracedat/file.js';
import { writeTraceDat, type TraceDatParts } from './tracedat.js';

const FIXTURE = join(__dirname, '../../fixtures/tracedat-variants/mt-munmap.v6.dat.gz');
const dir = mkdtempSync(join(tmpdir(), 'tlbtrace-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The metadata texts of a v6 file, read the way trace-cmd.dat.v6.5.txt lays them out. */
function v6Texts(b: Buffer) {
  let p = b.indexOf(0, 10) + 1; // magic, "tracing", "6\0"
  p += 2; // endianness, long size
  const pageSize = b.readUInt32LE(p);
  p += 4;
  const sized = (width: 4 | 8): Buffer => {
    const n = width === 4 ? b.readUInt32LE(p) : Number(b.readBigUInt64LE(p));
    p += width;
    return b.subarray(p, (p += n));
  };
  p += 12;
  const headerPage = sized(8).toString();
  p += 13;
  const headerEvent = sized(8).toString();
  const ftraceFormats: string[] = [];
  for (let n = b.readUInt32LE((p += 4) - 4); n > 0; n--) ftraceFormats.push(sized(8).toString());
  const eventFormats = new Map<string, string[]>();
  for (let systems = b.readUInt32LE((p += 4) - 4); systems > 0; systems--) {
    const end = b.indexOf(0, p);
    const system = b.toString('utf8', p, end);
    p = end + 1;
    const list: string[] = [];
    for (let n = b.readUInt32LE((p += 4) - 4); n > 0; n--) list.push(sized(8).toString());
    eventFormats.set(system, list);
  }
  const kallsyms = Buffer.from(sized(4));
  const printkFormats = Buffer.from(sized(4));
  const cmdlines = sized(8).toString();
  return { pageSize, headerPage, headerEvent, ftraceFormats, eventFormats, kallsyms, printkFormats, cmdlines };
}

async function decode(path: string): Promise<TraceEvent[]> {
  const src = await openTraceDat(path, {}, new Diagnostics());
  const out: TraceEvent[] = [];
  for await (const batch of src.events()) out.push(...batch);
  return out;
}

describe('writeTraceDat', () => {
  it('rewrites a real v6 recording into a file that decodes to the same events', async () => {
    const original = join(dir, 'original.dat');
    const bytes = gunzipSync(readFileSync(FIXTURE));
    writeFileSync(original, bytes);
    const file = await RandomAccessFile.open(original);
    const info = await readTraceDatInfo(file);
    await file.close();
    expect(info.version).toBe(6);
    const texts = v6Texts(bytes);
    const cpuData = info.cpuData.map((ref) => {
      if (ref.size === 0) return null;
      const spool = join(dir, `spool.cpu${ref.cpu}`);
      writeFileSync(spool, bytes.subarray(ref.offset, ref.offset + ref.size));
      return spool;
    });
    const parts: TraceDatParts = {
      ...texts,
      traceClock: `[${info.clock ?? 'local'}] global`,
      uname: 'Linux test 6.1.0 x86_64',
      cpuStats: info.cpuData.map(() => 'entries: 0\n'),
      cpuData,
      cpuDataSize: info.cpuData.map((ref) => ref.size),
    };
    const rewritten = join(dir, 'rewritten.dat');
    const size = await writeTraceDat(rewritten, parts);
    expect(readFileSync(rewritten).length).toBe(size);

    const [a, b] = [await decode(original), await decode(rewritten)];
    // `trace-cmd report` of the original prints 5706 records (after its `cpus=8` line)
    expect(a.length).toBe(5706);
    expect(b.length).toBe(a.length);
    expect(b).toEqual(a);

    const tc = spawnSync('trace-cmd', ['report', original], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (tc.error) {
      console.log('trace-cmd not installed: the trace-cmd report comparison is skipped');
      return;
    }
    const tb = spawnSync('trace-cmd', ['report', rewritten], { encoding: 'utf8', maxBuffer: 1 << 28 });
    expect(tb.status).toBe(0);
    expect(tb.stdout).toBe(tc.stdout);
  });

  it('leaves nothing behind when a spool cannot be read', async () => {
    const parts: TraceDatParts = {
      pageSize: 4096,
      headerPage: '',
      headerEvent: '',
      ftraceFormats: [],
      eventFormats: new Map(),
      kallsyms: Buffer.alloc(0),
      printkFormats: Buffer.alloc(0),
      cmdlines: '',
      traceClock: '[local]',
      uname: 'x',
      cpuStats: [''],
      cpuData: [join(dir, 'no-such-spool')],
      cpuDataSize: [4096],
    };
    await expect(writeTraceDat(join(dir, 'broken.dat'), parts)).rejects.toThrow(/no-such-spool/);
    expect(() => readFileSync(join(dir, 'broken.dat'))).toThrow();
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
