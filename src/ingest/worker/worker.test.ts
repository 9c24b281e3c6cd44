// The worker-thread ingest must be invisible downstream:
//   - the codec gives back exactly the events it was given (every kind in the fixtures, all four
//     formats, the string table's reset included);
//   - openTraceThreaded(..., 'worker') yields the same events, meta and warnings as openTrace(),
//     and analyze gives byte-identical summaries, on real fixtures and on damaged input;
//   - errors keep their file, line and wording (InputError), --strict included;
//   - a consumer that stops early ends the thread.
// (The worker runs dist/ingest/worker/thread.js: `npm test` builds first.)

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../events/types.js';
import { analyzeTrace } from '../../pipeline/analyze.js';
import { Diagnostics } from '../diagnostics.js';
import { InputError } from '../../errors.js';
import { readAll } from '../testutil.js';
import { BatchDecoder, BatchEncoder } from './codec.js';
import { autoPrefersWorker, openTraceThreaded, useWorker, WORKER_MIN_BYTES } from './source.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURES = path.join(ROOT, 'fixtures');
const MT_MIXED = path.join(FIXTURES, 'native-6.18-2cpu/mt-mixed');

/** every trace file of the fixtures: four formats, 2 to 16 CPUs, kernels 6.1 to 6.18 */
function fixtureTraces(): string[] {
  const out: string[] = [];
  for (const set of readdirSync(FIXTURES, { withFileTypes: true })) {
    if (!set.isDirectory() || set.name === 'tracedat-variants') continue;
    for (const cap of readdirSync(path.join(FIXTURES, set.name), { withFileTypes: true })) {
      if (!cap.isDirectory()) continue;
      for (const f of readdirSync(path.join(FIXTURES, set.name, cap.name))) {
        if (f.endsWith('.txt.gz') || f === 'trace.dat') out.push(path.join(FIXTURES, set.name, cap.name, f));
      }
    }
  }
  return out.sort();
}

async function readThreaded(paths: string[], diag = new Diagnostics({ examplesPerCode: 20 })) {
  const src = await openTraceThreaded(paths, {}, diag, 'worker');
  const events: TraceEvent[] = [];
  for await (const b of src.events()) for (const e of b) events.push(e);
  return { events, meta: src.meta, diag };
}

describe('event batch codec', () => {
  it('gives back every event of every fixture exactly, across string-table resets', async () => {
    const kinds = new Set<string>();
    for (const file of fixtureTraces()) {
      const { events } = await readAll([file]);
      // a tiny table: it is cleared many times over in each file
      const enc = new BatchEncoder(64);
      const dec = new BatchDecoder();
      const back: TraceEvent[] = [];
      for (let i = 0; i < events.length; i += 1000) {
        const b = enc.encode(events.slice(i, i + 1000));
        back.push(...dec.decode(b));
        enc.recycle(b.buf);
      }
      expect(back.length, file).toBe(events.length);
      for (let i = 0; i < events.length; i++) {
        if (JSON.stringify(back[i]) !== JSON.stringify(events[i])) expect(back[i], `${file} event ${i}`).toEqual(events[i]);
      }
      for (const e of events) kinds.add(e.kind);
    }
    // the fixtures hold every kind the model reads (vmscan markers: the 6.1 reclaim capture)
    for (const k of ['tlb_flush', 'ipi_send_cpu', 'ipi_send_cpumask', 'csd_queue_cpu', 'csd_function_entry', 'sched_switch', 'sched_process_fork', 'sched_process_exec', 'syscall_enter', 'mm_vmscan_kswapd_wake']) {
      expect(kinds, k).toContain(k);
    }
  });

  it('keeps values no table holds: null csd, undefined hardirq, u64 arguments, odd argument names', () => {
    // (in the order the producers write the fields, so that the JSON texts compare too)
    const h = (kind: string, hardirq?: boolean) => ({ kind, ts: 1, cpu: 3, pid: 7, tgid: -1, comm: 'a\\x00b<c>', hardirq, line: 9 });
    const events = [
      { ...h('csd_function_entry'), func: 'flush_tlb_func', csd: null },
      { ...h('ipi_send_cpumask'), targets: [], callsite: 'x', callback: 'y' },
      { ...h('syscall_enter', true), name: 'munmap', nr: 11, raw: false, args: { addr: 2 ** 60, len: 4096 } },
      { ...h('syscall_enter', false), name: 'munmap', nr: 11, raw: false, args: { addr: 1, 'we"ird, key': 2, __proto__x: 3 } },
      { ...h('syscall_enter'), name: 'nr_999', nr: -1, raw: true, args: {} },
      { ...h('lost_events'), count: -1 },
    ] as TraceEvent[];
    const b = new BatchEncoder().encode(events);
    const back = new BatchDecoder().decode(b);
    expect(back).toEqual(events);
    expect(back.map((e) => JSON.stringify(e))).toEqual(events.map((e) => JSON.stringify(e)));
    expect('hardirq' in back[0]!).toBe(true);
  });
});

describe('ingest in a worker thread', () => {
  it('"auto" uses the worker for stdin and big inputs only, and only with CPUs to spare', () => {
    expect(useWorker(['-'], {}, 'auto')).toBe(autoPrefersWorker());
    expect(useWorker(['-'], { stdin: new Uint8Array(1) }, 'auto')).toBe(false);
    expect(useWorker([path.join(MT_MIXED, 'trace.dat')], {}, 'auto')).toBe(false);
    expect(useWorker([path.join(MT_MIXED, 'trace.dat')], {}, 'worker')).toBe(true);
    expect(useWorker(['-'], {}, 'main')).toBe(false);
    expect(WORKER_MIN_BYTES).toBeGreaterThan(1 << 20);
  });

  it('delivers the same events, meta and warnings as openTrace, for each format', async () => {
    for (const f of ['ftrace.txt.gz', 'trace-cmd-report.txt.gz', 'perf-script.txt.gz', 'trace.dat']) {
      const file = path.join(MT_MIXED, f);
      const a = await readAll([file]);
      const b = await readThreaded([file]);
      expect(b.events.length, f).toBe(a.events.length);
      expect(b.events, f).toEqual(a.events);
      expect(b.meta, f).toEqual(a.meta);
      expect(b.diag.byCode(), f).toEqual(a.diag.byCode());
    }
  });

  it('gives byte-identical summaries on real captures', async () => {
    for (const rel of ['native-6.18-2cpu/sng-tlb-shootdown/trace.dat', 'qemu-6.1-8cpu/reclaim-mmap/ftrace.txt.gz', 'qemu-6.12-16cpu/mt-munmap/trace-cmd-report.txt.gz']) {
      const file = path.join(FIXTURES, rel);
      const a = await analyzeTrace([file], { ingestThread: 'main' });
      const b = await analyzeTrace([file], { ingestThread: 'worker' });
      expect(JSON.stringify(b), rel).toBe(JSON.stringify(a));
    }
  });

  it('reports damaged input the same way: warnings with file:line, truncation, --strict errors', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tlbtrace-worker-'));
    try {
      const text = gunzipSync(readFileSync(path.join(MT_MIXED, 'ftrace.txt.gz'))).toString('latin1').split('\n');
      // a malformed line, a NUL byte, a timestamp going back, and the last 1000 lines cut off mid-line
      text.splice(200, 0, 'this is not a trace line');
      text.splice(300, 0, 'stress\u0000ng');
      text.splice(400, 0, text[400]!.replace(/ (\d+)\.(\d+):/, ' 1.000000:'));
      const damaged = path.join(dir, 'damaged.txt');
      writeFileSync(damaged, Buffer.from(text.slice(0, -1000).join('\n').slice(0, -7), 'latin1'));

      const a = await analyzeTrace([damaged], { ingestThread: 'main' });
      const b = await analyzeTrace([damaged], { ingestThread: 'worker' });
      expect(a.input.warnings.total).toBeGreaterThanOrEqual(3);
      expect(JSON.stringify(b)).toBe(JSON.stringify(a));

      const strict = async (ingestThread: 'main' | 'worker') => {
        try {
          await analyzeTrace([damaged], { ingestThread, strict: true });
        } catch (err) {
          return err;
        }
        return undefined;
      };
      const ea = await strict('main');
      const eb = await strict('worker');
      expect(ea).toBeInstanceOf(InputError);
      expect(eb).toBeInstanceOf(InputError);
      expect((eb as InputError).message).toBe((ea as InputError).message);
      expect((eb as InputError).line).toBe(201);

      // not a trace at all, and a missing file: InputError from the open, as in-process
      const junk = path.join(dir, 'junk.bin');
      writeFileSync(junk, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3]));
      for (const p of [junk, path.join(dir, 'missing.txt')]) {
        const inproc = await openTraceThreaded([p], {}, new Diagnostics(), 'main').catch((e: unknown) => e);
        const threaded = await openTraceThreaded([p], {}, new Diagnostics(), 'worker').catch((e: unknown) => e);
        expect(threaded).toBeInstanceOf(InputError);
        expect((threaded as Error).message).toBe((inproc as Error).message);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ends the thread when the consumer stops early', async () => {
    const src = await openTraceThreaded([path.join(MT_MIXED, 'ftrace.txt.gz')], {}, new Diagnostics(), 'worker');
    let n = 0;
    for await (const b of src.events()) {
      n += b.length;
      break;
    }
    expect(n).toBeGreaterThan(0);
  });

  it('reads a pipe on stdin: `cat trace | tlbtrace analyze -` gives the summary of the file', () => {
    const bin = path.join(ROOT, 'bin/tlbtrace');
    const file = path.join(MT_MIXED, 'trace-cmd-report.txt.gz');
    const run = (args: string[], input?: Buffer) => {
      const r = spawnSync(process.execPath, [bin, 'analyze', ...args, '--json', '--no-progress'], { input, maxBuffer: 64 << 20 });
      expect(r.status, r.stderr.toString()).toBe(0);
      const s = JSON.parse(r.stdout.toString());
      delete s.input.files;
      return s;
    };
    const fromFile = run([file, '--ingest-thread', 'main']);
    const fromPipe = run(['-', '--ingest-thread', 'worker'], readFileSync(file));
    expect(fromPipe).toEqual(fromFile);
  });
});
