// The binary half of the fuzz suite: a bounded run of trace.dat cases (src/fuzz/datcase.ts; `npm
// run fuzz` runs 10 000) in a worker process under the watchdog that catches a hang, and one
// regression test per kind of damage the binary fuzzer found, each with the exact message.
// Damage is done to real files of fixtures/ at places src/fuzz/datlayout.ts finds.
//
// FUZZ_SEED and FUZZ_DAT_CASES override the fixed seed and the count.
// (The worker runs dist/fuzz/worker.js: `npm test` builds first.)

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import type { DatStats } from '../../src/fuzz/datcase.js';
import { datLayout, type DatLayout } from '../../src/fuzz/datlayout.js';
import { forkWorker } from '../../src/fuzz/fork.js';
import { Diagnostics } from '../../src/ingest/diagnostics.js';
import { RandomAccessFile } from '../../src/ingest/tracedat/file.js';
import { readTraceDatInfo } from '../../src/ingest/tracedat/header.js';
import { openTraceDat } from '../../src/ingest/tracedat/index.js';
import type { TraceEvent } from '../../src/events/types.js';
import { FIXTURES, TmpDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SEED = Number(process.env.FUZZ_SEED ?? 20261206);
const CASES = Number(process.env.FUZZ_DAT_CASES ?? 100);

let tmp: TmpDir;
beforeAll(() => {
  tmp = new TmpDir();
});
afterAll(() => tmp.remove());

describe('mutated real trace.dat files (fast-check, in a worker under a watchdog)', () => {
  it(`${CASES} cases: no crash, no hang, a message naming the file, cut files give prefixes`, async () => {
    const worker = join(ROOT, 'dist/fuzz/worker.js');
    expect(existsSync(worker), 'dist/fuzz/worker.js is missing: `npm test` builds it (npm run build)').toBe(true);
    const r = await forkWorker<DatStats>(['--binary', '--cases', String(CASES), '--seed', String(SEED)], { timeoutMs: 60_000, worker });
    if ('hang' in r) throw new Error(`a case ran ${r.hang.ms} ms without returning: ${r.hang.file} ${JSON.stringify(r.hang.case)}`);
    if ('died' in r) throw new Error(`the worker died: ${r.died}`);
    const s = r.stats;
    expect(s.failures.map((f) => `${f.file}: ${f.failures.join('; ')}\n  case: ${JSON.stringify(f.case)}`), `seed ${SEED}`).toEqual([]);
    expect(s.done).toBe(CASES);
    // most damaged files still give events: refusing them wholesale would be a bug of its own
    expect(s.ok).toBeGreaterThan(CASES * 0.3);
  }, 300_000);
});

interface Read {
  events: TraceEvent[];
  diag: Diagnostics;
  truncated: boolean;
}

async function read(path: string): Promise<Read> {
  const diag = new Diagnostics();
  const src = await openTraceDat(path, {}, diag);
  const events: TraceEvent[] = [];
  for await (const b of src.events()) for (const e of b) events.push(e);
  return { events, diag, truncated: src.meta.truncated };
}

/** a fixture's bytes and layout; `damage` changes a copy, written to a temp file */
async function fixtureDat(rel: string): Promise<{ bytes: Buffer; layout: DatLayout; write: (name: string, b: Buffer) => string }> {
  const bytes = rel.endsWith('.gz') ? gunzipSync(readFileSync(join(FIXTURES, rel))) : readFileSync(join(FIXTURES, rel));
  const p = tmp.file('intact.dat', bytes);
  const f = await RandomAccessFile.open(p);
  const info = await readTraceDatInfo(f);
  await f.close();
  return { bytes, layout: datLayout(bytes, info), write: (name, b) => tmp.file(name, b) };
}

const region = (l: DatLayout, kind: string, i = 0) => l.byKind.get(kind)![i]!;
const warnings = (d: Diagnostics) => d.examples.map((e) => `${e.code}: ${e.message}`);

describe('regressions: one per kind of damage the binary fuzzer found', () => {
  // qemu-6.1-8cpu/mt-munmap/trace.dat: v7, zstd, 8 CPUs, 5706 events (tracedat.test.ts checks
  // them against trace-cmd report)
  const QEMU = 'qemu-6.1-8cpu/mt-munmap/trace.dat';

  it('damaged saved cmdlines (v7): every event read, a warning, tasks it alone named print as <...>', async () => {
    const { bytes, layout, write } = await fixtureDat(QEMU);
    const b = Buffer.from(bytes);
    const c = region(layout, 'cmdlines');
    b.fill(0xa5, c.start + 20, c.start + 60); // inside the zstd frame
    const r = await read(write('cmdlines.dat', b));
    expect(r.events).toHaveLength(5706);
    expect(warnings(r.diag)).toEqual([
      expect.stringMatching(/^corrupt-data: corrupt saved cmdlines section at offset 959281: zstd: .+; tasks the sched events do not name print as <\.\.\.>$/),
    ]);
    expect(r.events.some((e) => e.comm === '<...>')).toBe(true);
  });

  it('damaged kallsyms section header: every event read, addresses as hex, a warning', async () => {
    const { bytes, layout, write } = await fixtureDat(QEMU);
    const b = Buffer.from(bytes);
    const k = region(layout, 'kallsyms');
    b.writeUInt16LE(99, k.start - 16); // its section id
    const r = await read(write('kallsyms.dat', b));
    expect(r.events).toHaveLength(5706);
    expect(warnings(r.diag)).toEqual(['corrupt-data: corrupt kallsyms section at offset 69317: section id 99, expected 19; addresses are printed as hex']);
  });

  it('damaged printk section: not read, nothing lost, no warning', async () => {
    const { bytes, layout, write } = await fixtureDat(QEMU);
    const b = Buffer.from(bytes);
    const p = region(layout, 'printk');
    b.fill(0, p.start, p.end);
    const r = await read(write('printk.dat', b));
    expect(r.events).toHaveLength(5706);
    expect(r.diag.total).toBe(0);
  });

  it('damaged last options section (it names each CPU data): the data is found without it, every event read', async () => {
    const { bytes, layout, write } = await fixtureDat(QEMU);
    const intact = await read(write('intact2.dat', bytes));
    const b = Buffer.from(bytes);
    const last = layout.byKind.get('options')!.at(-1)!;
    b.writeUInt16LE(7, last.start - 16);
    const r = await read(write('options.dat', b));
    expect(r.events).toEqual(intact.events);
    expect(r.truncated).toBe(false);
    expect(warnings(r.diag)).toEqual(['corrupt-data: corrupt options section at offset 1002630: section id 7, expected 0; the options after it are lost']);
  });

  it('damaged flyrecord section header: the BUFFER option still says where the data is', async () => {
    const { bytes, layout, write } = await fixtureDat(QEMU);
    const b = Buffer.from(bytes);
    b.writeUInt16LE(9, region(layout, 'flyrecord section header').start);
    const r = await read(write('flyrecord.dat', b));
    expect(r.events).toHaveLength(5706);
    expect(warnings(r.diag)).toEqual(['corrupt-data: corrupt flyrecord section at offset 961169: section id 9, expected 3; the trace data is read as zstd chunks']);
  });

  it('a compressed chunk that does not decompress: named by CPU stream and hex offset, its pages skipped', async () => {
    const { bytes, layout, write } = await fixtureDat(QEMU);
    const b = Buffer.from(bytes);
    const chunk = region(layout, 'compressed chunk', 1);
    b.fill(0xa5, chunk.start + 30, chunk.start + 90); // past the frame header
    const pages = bytes.readUInt32LE(chunk.start - 4) / 4096; // the chunk's declared size
    const r = await read(write('chunk.dat', b));
    expect(r.events.length).toBeLessThan(5706);
    // (zstd's own error name: the versions in node:zlib and in the WebAssembly build may word it differently)
    expect(warnings(r.diag)).toEqual([
      expect.stringMatching(new RegExp(`^corrupt-data: CPU 0 stream, compressed chunk at offset 0x${(chunk.start - 8).toString(16)}: zstd: [A-Z][^;]+; its ${pages} page\\(s\\) are skipped$`)),
    ]);
  });

  it('implausible chunk sizes: the rest of that CPU is skipped, named by stream and offset', async () => {
    const { bytes, layout, write } = await fixtureDat(QEMU);
    const b = Buffer.from(bytes);
    const h = region(layout, 'chunk header', 1);
    b.writeUInt32LE(0xffffffff, h.start);
    const r = await read(write('chunkhdr.dat', b));
    expect(warnings(r.diag)).toEqual([`corrupt-data: CPU 0 stream, chunk header at offset 0x${h.start.toString(16)}: implausible sizes (4294967295 -> ${bytes.readUInt32LE(h.start + 4)} bytes); the rest of this CPU's data is skipped`]);
  });

  it('cut inside the options section that names the metadata sections (trace-cmd convert writes it second)', async () => {
    const { bytes, layout, write } = await fixtureDat('tracedat-variants/mt-munmap.v7-none.dat.gz');
    const second = layout.byKind.get('options')![1]!;
    const p = write('convert-cut.dat', bytes.subarray(0, second.start + 20));
    const err = await openTraceDat(p, {}, new Diagnostics()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(
      `${p}: truncated file: it ends at byte ${second.start + 20}, inside the options section at offset ${second.start - 16}, before the option that names the header info section and before the trace data: no events to read`,
    );
  });

  it('cut inside the metadata: the message names the section the file ends in', async () => {
    const { bytes, layout, write } = await fixtureDat(QEMU);
    const k = region(layout, 'kallsyms');
    const p = write('meta-cut.dat', bytes.subarray(0, k.start + 1000));
    await expect(openTraceDat(p, {}, new Diagnostics())).rejects.toThrow(
      `${p}: truncated file: it ends at byte ${k.start + 1000}, inside the kallsyms section (offset 69317, 888578 bytes), before the first options section (offset 959697) and the trace data after it: no events to read`,
    );
  });
});
