// trace.dat reader against the ground truth of the same recordings: `trace-cmd report` (trace-cmd
// 3.1.6, the version that made the files) saved next to every capture as trace-cmd-report.txt.gz.
// Each fixture is decoded completely and compared with the report event by event, field by field
// (with a small report-line parser of this test's own, independent of src/ingest/formats), then
// per event type and per CPU, then through openTrace() against the text parser's events.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { eventName, type TraceEvent } from '../../events/types.js';
import { Diagnostics } from '../diagnostics.js';
import type { TraceMeta } from '../source.js';
import { isTraceDat, openTraceDat } from './index.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const FIXTURES = join(ROOT, 'fixtures');
const SHARED = join(ROOT, '../shared/traces');

const fixtureDirs = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((set) =>
    readdirSync(join(FIXTURES, set.name), { withFileTypes: true })
      .filter((c) => c.isDirectory() && existsSync(join(FIXTURES, set.name, c.name, 'trace.dat')))
      .map((c) => `${set.name}/${c.name}`),
  )
  .sort();

async function decodeAll(path: string): Promise<{ events: TraceEvent[]; diag: Diagnostics; meta: TraceMeta }> {
  const diag = new Diagnostics();
  const src = await openTraceDat(path, {}, diag);
  const events: TraceEvent[] = [];
  for await (const batch of src.events()) {
    expect(batch.length).toBeLessThanOrEqual(4096);
    for (const e of batch) events.push(e);
  }
  return { events, diag, meta: src.meta };
}

// ---------------------------------------------------------------------------------------------
// `trace-cmd report` lines, e.g.
//             bash-5045  [000]  1354.137806: csd_queue_cpu:        cpu=1 callsite=on_each_cpu_cond_mask+0x20 func=flush_tlb_func csd=0xffff888627d2e420
// CPU:0 [97270 EVENTS DROPPED]
// The comm may hold anything: the header is matched from the right (the last `-PID [CPU] S.US: name:`).

interface ReportRecord {
  comm: string;
  pid: number;
  cpu: number;
  /** microseconds as printed (trace-cmd rounds ns to the nearest us) */
  us: number;
  name: string;
  payload: string;
  line: string;
}
interface ReportLost {
  lostCpu: number;
  count: number;
}

const HEADER_RE = /^\s*(.*)-(\d+)\s+\[(\d+)\]\s+(\d+)\.(\d{6}): (\w+):\s*(.*)$/;
const LOST_RE = /^CPU:(\d+) \[(?:(\d+) )?EVENTS DROPPED\]$/;

function reportLines(dir: string): string[] {
  return gunzipSync(readFileSync(join(dir, 'trace-cmd-report.txt.gz'))).toString('utf8').split('\n');
}

/** A record line or a lost-events line; null for `cpus=N` and empty lines. */
function parseReportLine(line: string): ReportRecord | ReportLost | null {
  if (line === '' || line.startsWith('cpus=')) return null;
  const lost = LOST_RE.exec(line);
  if (lost) return { lostCpu: Number(lost[1]), count: lost[2] === undefined ? -1 : Number(lost[2]) };
  const m = HEADER_RE.exec(line);
  if (!m) throw new Error(`unexpected report line: ${line}`);
  return { comm: m[1]!, pid: Number(m[2]), cpu: Number(m[3]), us: Number(m[4]) * 1e6 + Number(m[5]), name: m[6]!, payload: m[7]!, line };
}

function readReport(dir: string): { lines: string[]; records: (ReportRecord | ReportLost)[]; cpus: number } {
  const lines = reportLines(dir);
  const records: (ReportRecord | ReportLost)[] = [];
  for (const line of lines) {
    const r = parseReportLine(line);
    if (r) records.push(r);
  }
  const first = lines.find((l) => l.startsWith('cpus='));
  return { lines, records, cpus: first ? Number(first.slice(5)) : -1 };
}

/** `(nil)` -> null, `0xffff888627d2e420` -> "ffff888627d2e420" (types.ts pointer normalisation) */
const ptr = (s: string): string | null => (s === '(nil)' ? null : s.replace(/^0x0*/, '') || null);
/** libtraceevent CPU list `1-3,7` -> [1, 2, 3, 7] */
function cpuList(s: string): number[] {
  const out: number[] = [];
  if (s === '') return out;
  for (const part of s.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let i = a!; i <= (b ?? a!); i++) out.push(i);
  }
  return out;
}
/** plugin_sched_switch.c letters -> the kernel's (see STATE_CHARS in decode.ts) */
const PLUGIN_STATE: Record<string, string> = { S: 'S', D: 'D', T: 'T', t: 't', Z: 'X', X: 'Z', x: 'P', W: 'I', R: 'R', '|': '|' };
const kernelState = (s: string): string => [...s].map((c) => PLUGIN_STATE[c] ?? c).join('');

/** The payload fields the report line shows, in TraceEvent terms; undefined for events with no typed payload. */
function expectedPayload(e: TraceEvent, p: string): Record<string, unknown> | undefined {
  let m: RegExpExecArray | null;
  switch (e.kind) {
    case 'tlb_flush':
      m = /^pages=(-?\d+) reason=.*\((-?\d+)\)$/.exec(p);
      return m ? { pages: Number(m[1]), reason: Number(m[2]) } : { unparsed: p };
    case 'ipi_send_cpu':
      m = /^cpu=(\d+) callsite=(\S+) callback=(\S+)$/.exec(p);
      return m ? { target: Number(m[1]), callsite: m[2], callback: m[3] } : { unparsed: p };
    case 'ipi_send_cpumask':
      m = /^cpumask=(\S*) callsite=(\S+) callback=(\S+)$/.exec(p);
      return m ? { targets: cpuList(m[1]!), callsite: m[2], callback: m[3] } : { unparsed: p };
    case 'csd_queue_cpu':
      m = /^cpu=(\d+) callsite=(\S+) func=(\S+) csd=(\S+)$/.exec(p);
      return m ? { target: Number(m[1]), callsite: m[2], func: m[3], csd: ptr(m[4]!) } : { unparsed: p };
    case 'csd_function_entry':
    case 'csd_function_exit':
      m = /^func=(\S+), csd=(\S+)$/.exec(p);
      return m ? { func: m[1], csd: ptr(m[2]!) } : { unparsed: p };
    case 'call_function_entry':
    case 'call_function_exit':
    case 'call_function_single_entry':
    case 'call_function_single_exit':
      m = /^vector=(-?\d+)$/.exec(p);
      return m ? { vector: Number(m[1]) } : { unparsed: p };
    case 'sched_switch':
      m = /^(.*):(-?\d+) \[(-?\d+)\] (\S+) ==> (.*):(-?\d+) \[(-?\d+)\]$/.exec(p);
      return m
        ? {
            prevComm: m[1],
            prevPid: Number(m[2]),
            prevPrio: Number(m[3]),
            prevState: kernelState(m[4]!),
            nextComm: m[5],
            nextPid: Number(m[6]),
            nextPrio: Number(m[7]),
          }
        : { unparsed: p };
    case 'sched_process_fork':
      m = /^comm=(.*) pid=(-?\d+) child_comm=(.*) child_pid=(-?\d+)$/.exec(p);
      return m ? { parentComm: m[1], parentPid: Number(m[2]), childComm: m[3], childPid: Number(m[4]) } : { unparsed: p };
    case 'sched_process_exec':
      m = /^filename=(.*) pid=(-?\d+) old_pid=(-?\d+)$/.exec(p);
      return m ? { filename: m[1], execPid: Number(m[2]), oldPid: Number(m[3]) } : { unparsed: p };
    case 'sched_process_exit':
      m = /^comm=(.*) pid=(-?\d+) prio=-?\d+(?: group_dead=\w+)?$/.exec(p);
      return m ? { exitComm: m[1], exitPid: Number(m[2]) } : { unparsed: p };
    case 'sched_migrate_task':
      m = /^comm=(.*) pid=(-?\d+) prio=-?\d+ orig_cpu=(-?\d+) dest_cpu=(-?\d+)$/.exec(p);
      return m ? { taskComm: m[1], taskPid: Number(m[2]), origCpu: Number(m[3]), destCpu: Number(m[4]) } : { unparsed: p };
    case 'sched_wake_idle_without_ipi':
      m = /^cpu=(-?\d+)$/.exec(p);
      return m ? { target: Number(m[1]) } : { unparsed: p };
    case 'syscall_enter': {
      if (e.raw) {
        m = /^NR (-?\d+) \(([^)]*)\)$/.exec(p);
        if (!m) return { unparsed: p };
        const args: Record<string, number> = {};
        m[2]!.split(', ').forEach((x, i) => (args[`arg${i}`] = Number('0x' + x)));
        return { nr: Number(m[1]), positional: args };
      }
      const args: Record<string, number> = {};
      for (const a of p.matchAll(/(\w+): 0x([0-9a-f]+)/g)) args[a[1]!] = Number('0x' + a[2]!);
      return { args };
    }
    default:
      return undefined;
  }
}

function actualPayload(e: TraceEvent, expected: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(expected)) {
    if (k === 'positional' && e.kind === 'syscall_enter') {
      out[k] = Object.fromEntries(Object.entries(e.args).filter(([n]) => /^arg\d$/.test(n)));
    } else out[k] = (e as unknown as Record<string, unknown>)[k];
  }
  return out;
}

/** Compare every decoded event with its report line; returns the first few differences. */
function compareWithReport(events: TraceEvent[], records: (ReportRecord | ReportLost)[]): string[] {
  const diffs: string[] = [];
  const n = Math.max(events.length, records.length);
  for (let i = 0; i < n && diffs.length < 10; i++) {
    const e = events[i];
    const r = records[i];
    if (!e || !r) {
      diffs.push(`#${i}: ${e ? 'extra decoded event' : 'missing event for'} ${JSON.stringify(r ?? eventName(e!))}`);
      continue;
    }
    if ('lostCpu' in r) {
      if (e.kind !== 'lost_events' || e.cpu !== r.lostCpu || e.count !== r.count) diffs.push(`#${i}: expected lost events ${JSON.stringify(r)}, got ${eventName(e)}`);
      continue;
    }
    const headerOk =
      e.comm === r.comm && e.pid === r.pid && e.cpu === r.cpu && Math.floor((e.ts + 500) / 1000) === r.us && eventName(e) === r.name && e.tgid === -1 && e.line === 0;
    const exp = expectedPayload(e, r.payload);
    if (!headerOk || (exp && !isEqual(actualPayload(e, exp), exp))) {
      diffs.push(`#${i}: ${r.line}\n   decoded ${stringify(e)}`);
    }
  }
  return diffs;
}

const stringify = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `0x${x.toString(16)}` : x));
const isEqual = (a: unknown, b: unknown): boolean => stringify(a) === stringify(b);

/** `zcat trace-cmd-report.txt.gz | grep -c ' <event>:'`, for every event name */
function grepCounts(lines: string[], names: Iterable<string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const name of names) {
    const needle = ` ${name}:`;
    let n = 0;
    for (const l of lines) if (l.includes(needle)) n++;
    out.set(name, n);
  }
  return out;
}

function countBy<T>(xs: Iterable<T>, key: (x: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return new Map([...m].sort((a, b) => a[0].localeCompare(b[0])));
}

// ---------------------------------------------------------------------------------------------

describe('isTraceDat', () => {
  it('recognises the magic of a real trace.dat and nothing else', () => {
    const head = readFileSync(join(FIXTURES, 'native-6.18-2cpu/mt-mixed/trace.dat')).subarray(0, 64);
    expect(isTraceDat(head)).toBe(true);
    expect(isTraceDat(readFileSync(join(FIXTURES, 'native-6.18-2cpu/mt-mixed/trace-cmd-report.txt.gz')).subarray(0, 64))).toBe(false);
    expect(isTraceDat(Buffer.from('cpus=2\n            bash-5045  [000]  1354.137805: tlb_flush: pages=-1 reason= (4)\n'))).toBe(false);
    expect(isTraceDat(head.subarray(0, 9))).toBe(false); // shorter than the magic
    expect(isTraceDat(Buffer.alloc(0))).toBe(false);
  });
});

describe.each(fixtureDirs)('fixture %s: trace.dat equals its trace-cmd report', (fixture) => {
  const dir = join(FIXTURES, fixture);

  it('decodes every record to the event the report line shows, in the same order', async () => {
    const { events, diag, meta } = await decodeAll(join(dir, 'trace.dat'));
    const report = readReport(dir);
    expect(diag.total).toBe(0);
    expect(events.length).toBe(report.records.length);
    expect(compareWithReport(events, report.records)).toEqual([]);

    // per event type: the decoded counts equal `zcat trace-cmd-report.txt.gz | grep -c ' <event>:'`
    const decodedCounts = countBy(events, eventName);
    expect(decodedCounts).toEqual(grepCounts(report.lines, decodedCounts.keys()));
    // ... and per CPU
    const records = report.records.filter((r): r is ReportRecord => 'name' in r);
    expect(countBy(events, (e) => `${e.cpu} ${eventName(e)}`)).toEqual(countBy(records, (r) => `${r.cpu} ${r.name}`));

    // header facts
    const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as { kernel: string; cpus: number };
    expect(meta).toMatchObject({ format: 'trace-dat', declaredCpus: report.cpus, tgidKnown: false, truncated: false, lines: 0, kernel: truth.kernel });
    expect(meta.declaredCpus).toBe(truth.cpus);
    for (const e of events) expect(e.tgid).toBe(-1);
  });
});

// The big shared captures stay out of the repo; sng-munmap is the one with lost events (CPU 0's
// oldest 97270 events were overwritten: `CPU:0 [97270 EVENTS DROPPED]` in the report).
const SNG_MUNMAP = join(SHARED, 'native-6.18-2cpu/sng-munmap');
describe.skipIf(!existsSync(join(SNG_MUNMAP, 'trace.dat')))('shared capture with lost events (native-6.18-2cpu/sng-munmap)', () => {
  it('gives the lost events where and as the report does, and the same counts', async () => {
    const { events, diag } = await decodeAll(join(SNG_MUNMAP, 'trace.dat'));
    const lines = reportLines(SNG_MUNMAP).filter((l) => l !== '' && !l.startsWith('cpus='));
    expect(diag.total).toBe(0);
    expect(events.length).toBe(lines.length);
    const lostAt = lines.findIndex((l) => LOST_RE.test(l));
    expect(parseReportLine(lines[lostAt]!)).toEqual({ lostCpu: 0, count: 97270 });
    expect(events[lostAt]).toMatchObject({ kind: 'lost_events', cpu: 0, count: 97270, pid: -1, comm: '' });
    expect(events.filter((e) => e.kind === 'lost_events')).toHaveLength(1);
    // the lost events take the timestamp of the event before them, like the text parsers
    expect(events[lostAt]!.ts).toBe(lostAt > 0 ? events[lostAt - 1]!.ts : 0);
    // field by field: the first 10000 records and 10000 around the drop
    const slice = (from: number, to: number): void => {
      const recs = lines.slice(from, to).map((l) => parseReportLine(l)!);
      expect(compareWithReport(events.slice(from, to), recs)).toEqual([]);
    };
    slice(0, 10_000);
    slice(Math.max(0, lostAt - 5000), lostAt + 5000);
    // per type: `grep -c ' <event>:'`
    const decodedCounts = countBy(events, eventName);
    decodedCounts.delete('lost_events');
    expect(decodedCounts).toEqual(grepCounts(lines, decodedCounts.keys()));
  }, 300_000);
});

// Through the dispatcher, against the text parser's events for the report of the same recording.
// Two documented differences: trace.dat timestamps keep their nanoseconds (the report rounds to
// microseconds) and trace.dat has the flags byte, so `hardirq` is known (undefined in report text).
describe.each(fixtureDirs)('fixture %s: openTrace(trace.dat) vs openTrace(trace-cmd-report.txt.gz)', (fixture) => {
  it('gives the same events (and hardirq as raw ftrace has it)', async () => {
    const index = join(ROOT, 'src/ingest/index.ts');
    if (!existsSync(index)) return;
    const { openTrace } = (await import('../index.js')) as typeof import('../index.js');
    const read = async (path: string): Promise<TraceEvent[]> => {
      const diag = new Diagnostics();
      const src = await openTrace([path], {}, diag);
      const out: TraceEvent[] = [];
      for await (const b of src.events()) out.push(...b);
      expect(diag.byCode()).toEqual({});
      return out;
    };
    const dir = join(FIXTURES, fixture);
    const fromDat = await read(join(dir, 'trace.dat'));
    const fromText = await read(join(dir, 'trace-cmd-report.txt.gz'));
    expect(fromDat.length).toBe(fromText.length);
    const norm = (e: TraceEvent, fromBinary: boolean): unknown => ({
      ...e,
      ts: fromBinary && e.kind !== 'lost_events' ? Math.floor((e.ts + 500) / 1000) * 1000 : e.ts,
      hardirq: undefined,
      line: 0,
    });
    for (let i = 0; i < fromDat.length; i++) {
      const a = norm(fromDat[i]!, true);
      const b = norm(fromText[i]!, false);
      if (!isEqual(a, b)) expect(a, `event #${i}`).toEqual(b);
    }

    // hardirq comes from common_flags: it must equal what raw ftrace's flags column says for the
    // same records (ftrace.txt.gz is the tracefs `trace` file of the same recording)
    const fromFtrace = await read(join(dir, 'ftrace.txt.gz'));
    const key = (e: TraceEvent): string => `${e.cpu} ${Math.floor((e.ts + 500) / 1000)} ${eventName(e)} ${e.pid}`;
    const flags = new Map<string, (boolean | undefined)[]>();
    for (const e of fromFtrace) flags.set(key(e), [...(flags.get(key(e)) ?? []), e.hardirq]);
    let compared = 0;
    for (const e of fromDat) {
      const f = flags.get(key(e))?.shift();
      if (f === undefined) continue;
      compared++;
      if (e.hardirq !== f) expect(`${key(e)} hardirq ${String(e.hardirq)}`).toBe(`${key(e)} hardirq ${String(f)}`);
    }
    expect(compared).toBe(fromDat.length);
  }, 120_000);
});
