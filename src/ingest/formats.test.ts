// The three header grammars and their sniffers, on real lines from ../shared/traces.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { newPayloadContext } from '../events/payloads.js';
import type { TraceMeta } from './source.js';
import { LINE_EVENT, LINE_LOST, LINE_MALFORMED, LINE_SKIP, LineHeader, parseLostLine, parseTs } from './formats/common.js';
import { isFtrace, parseFtraceLine } from './formats/ftrace.js';
import { isTraceCmd, parseTraceCmdLine } from './formats/tracecmd.js';
import { isPerfScript, parsePerfScriptLine } from './formats/perfscript.js';
import { sniffTextFormat } from './index.js';
import { HEADER, L } from './testutil.js';

const FTRACE_HEAD = [...HEADER, L.flush4, L.queue, L.cfse];
const FTRACE_PIPE = FTRACE_HEAD.slice(6); // trace_pipe: no header
const TRACECMD_HEAD = [
  'cpus=2',
  '            bash-5045  [000]  1354.137805: tlb_flush:            pages=-1 reason= (4)',
  '            bash-5045  [000]  1354.137806: csd_queue_cpu:        cpu=1 callsite=on_each_cpu_cond_mask+0x20 func=flush_tlb_func csd=0xffff888627d2e420',
  '          <idle>-0     [001]  1354.137847: call_function_single_entry: vector=251',
];
const PERF_HEAD = [
  '            perf  5068 [000]  1355.042436:                 csd:csd_function_entry: func=remote_function, csd=(nil)',
  '     rcu_preempt    15 [000]   228.225723:                          tlb:tlb_flush: pages:0 reason:flush on task switch (0)',
  ' npm view cli-pr  6326 [000]   228.228576:            syscalls:sys_enter_mprotect: start: 0x1c7deb140000, len: 0x00037000, prot: 0x00000003',
];
const PLAIN_TEXT = ['Hello world', 'this is a README', 'with three lines'];
const JSON_TEXT = ['{"traceEvents": [', '  {"name": "x", "ph": "B", "ts": 1.5, "pid": 1, "tid": 2}', ']}'];
const BINARY = [Buffer.from([0x17, 0x08, 0x44, 0x74, 0x72, 0x61, 0x63, 0x69, 0x6e, 0x67, 0x00, 0x01, 0xff, 0x0a, 0x7f]).toString('utf8')];
const CSV = ['ts,cpu,event', '1354.137805,0,tlb_flush'];

describe('sniffers', () => {
  it('each recognises its own format', () => {
    expect(isFtrace(FTRACE_HEAD)).toBe(true);
    expect(isFtrace(FTRACE_PIPE)).toBe(true);
    expect(isTraceCmd(TRACECMD_HEAD)).toBe(true);
    expect(isTraceCmd(TRACECMD_HEAD.slice(1))).toBe(true); // headerless
    expect(isTraceCmd(['CPU 3 is empty', ...TRACECMD_HEAD])).toBe(true);
    expect(isPerfScript(PERF_HEAD)).toBe(true);
  });

  it('each rejects the other two formats', () => {
    expect(isFtrace(TRACECMD_HEAD)).toBe(false);
    expect(isFtrace(TRACECMD_HEAD.slice(1))).toBe(false);
    expect(isFtrace(PERF_HEAD)).toBe(false);
    expect(isTraceCmd(FTRACE_HEAD)).toBe(false);
    expect(isTraceCmd(FTRACE_PIPE)).toBe(false);
    expect(isTraceCmd(PERF_HEAD)).toBe(false);
    expect(isPerfScript(FTRACE_HEAD)).toBe(false);
    expect(isPerfScript(FTRACE_PIPE)).toBe(false);
    expect(isPerfScript(TRACECMD_HEAD)).toBe(false);
  });

  it('all reject plain text, JSON, CSV, binary and empty input', () => {
    for (const lines of [PLAIN_TEXT, JSON_TEXT, CSV, BINARY, [], ['']]) {
      expect(isFtrace(lines)).toBe(false);
      expect(isTraceCmd(lines)).toBe(false);
      expect(isPerfScript(lines)).toBe(false);
      expect(sniffTextFormat(lines)).toBeUndefined();
    }
  });

  it('sniffTextFormat picks the right one', () => {
    expect(sniffTextFormat(FTRACE_HEAD)?.name).toBe('ftrace');
    expect(sniffTextFormat(FTRACE_PIPE)?.name).toBe('ftrace');
    expect(sniffTextFormat(TRACECMD_HEAD)?.name).toBe('trace-cmd');
    expect(sniffTextFormat(PERF_HEAD)?.name).toBe('perf-script');
  });
});

function meta(): TraceMeta {
  return { files: [], format: 'ftrace', tgidKnown: false, truncated: false, lines: 0 };
}

type Parse = typeof parseFtraceLine;
function header(parse: Parse, line: string, m = meta()) {
  const h = new LineHeader();
  const k = parse(line, h, m, newPayloadContext('auto'));
  return { k, h, m, payload: line.slice(h.payloadStart) };
}

describe('raw ftrace grammar', () => {
  it('reads comm, pid, tgid, cpu, flags, ts, event, payload', () => {
    const { k, h, payload } = header(parseFtraceLine, '            bash-5922    (   5922) [001] d..1.   223.569749: tlb_flush: pages:-1 reason:local MM shootdown (3)');
    expect(k).toBe(LINE_EVENT);
    expect({ comm: h.comm, pid: h.pid, tgid: h.tgid, cpu: h.cpu, ts: h.ts, hardirq: h.hardirq, name: h.name }).toEqual({
      comm: 'bash', pid: 5922, tgid: 5922, cpu: 1, ts: 223569749000, hardirq: false, name: 'tlb_flush',
    });
    expect(payload).toBe('pages:-1 reason:local MM shootdown (3)');
  });

  it('comm with spaces, dashes, brackets and colons (parsed from the right)', () => {
    const a = header(parseFtraceLine, ' npm view @types-5935    (   5935) [000] d..2.   223.582380: tlb_flush: pages:0 reason:flush on task switch (0)');
    expect([a.k, a.h.comm, a.h.pid]).toEqual([LINE_EVENT, 'npm view @types', 5935]);
    const b = header(parseFtraceLine, '  a [12] b-c: d-77    (     70) [003] d.h1.    15.000001: call_function_entry: vector=252');
    expect([b.k, b.h.comm, b.h.pid, b.h.tgid, b.h.cpu, b.h.hardirq]).toEqual([LINE_EVENT, 'a [12] b-c: d', 77, 70, 3, true]);
    const c = header(parseFtraceLine, '   memfd:sealed-91-1451    (   1451) [000] ..... 1.5: sched_process_exit: comm=x pid=1 prio=120');
    expect([c.h.comm, c.h.pid, c.h.ts]).toEqual(['memfd:sealed-91', 1451, 1_500_000_000]);
  });

  it('idle tgid (-------) is -1; hardirq from h or H in the third flag; 4-char flags; no flags; no tgid', () => {
    const idle = header(parseFtraceLine, '          <idle>-0       (-------) [001] d.h1.  1354.137847: call_function_single_entry: vector=251');
    expect([idle.h.comm, idle.h.pid, idle.h.tgid, idle.h.hardirq, idle.h.tgidColumn]).toEqual(['<idle>', 0, -1, true, true]);
    expect(header(parseFtraceLine, '      x-1 (1) [000] dNH2.     1.000000: foo: bar').h.hardirq).toBe(true);
    expect(header(parseFtraceLine, '      x-1 (1) [000] d.s2.     1.000000: foo: bar').h.hardirq).toBe(false);
    const four = header(parseFtraceLine, '            bash-2551  [000] d.h1   126.924138: tlb_flush: pages:-1 reason:remote shootdown (1)');
    expect([four.k, four.h.hardirq, four.h.tgid, four.h.tgidColumn]).toEqual([LINE_EVENT, true, -1, false]);
    const none = header(parseFtraceLine, '            bash-2551  [000]   126.924138: tlb_flush: pages:-1 reason:remote shootdown (1)');
    expect([none.k, none.h.hardirq]).toEqual([LINE_EVENT, undefined]);
  });

  it('renames the syscall call form and exit form', () => {
    const e = header(parseFtraceLine, '             git-5903    (   5896) [000] .....   223.575770: sys_mprotect(start: 0x7fa0500d3000, len: 0x10000, prot: 3)');
    expect([e.h.name, e.h.payloadStyle, e.payload]).toEqual(['sys_enter_mprotect', 1, '(start: 0x7fa0500d3000, len: 0x10000, prot: 3)']);
    const x = header(parseFtraceLine, '             git-5903    (   5896) [000] .....   223.575771: sys_mprotect -> 0x0');
    expect([x.h.name, x.payload]).toEqual(['sys_exit_mprotect', '0x0']);
    const r = header(parseFtraceLine, '            init-1       (      1) [004] .....     5.942904: sys_enter: NR 56 (1200011, 0, 0, 14acf690, 0, 50)');
    expect([r.h.name, r.payload]).toEqual(['sys_enter', 'NR 56 (1200011, 0, 0, 14acf690, 0, 50)']);
  });

  it('header lines fill meta; comments are skipped; lost markers', () => {
    const m = meta();
    expect(header(parseFtraceLine, '# entries-in-buffer/entries-written: 1708835/1806105   #P:2', m).k).toBe(LINE_SKIP);
    expect([m.entriesInBuffer, m.entriesWritten, m.declaredCpus]).toEqual([1708835, 1806105, 2]);
    expect(header(parseFtraceLine, '##### CPU 0 buffer started ####').k).toBe(LINE_SKIP);
    const l = header(parseFtraceLine, 'CPU:1 [LOST 1234 EVENTS]');
    expect([l.k, l.h.cpu, l.h.lostCount]).toEqual([LINE_LOST, 1, 1234]);
  });

  it('rejects what does not fit', () => {
    for (const bad of [
      'hello world',
      '            bash-5045    (   5045) [000] ...1.  1354.137805 tlb_flush: pages:-1', // no colon after ts
      '            bash-5045    (   5045) [0x0] ...1.  1354.137805: tlb_flush: x', // cpu not decimal
      '            bash    (   5045) [000] ...1.  1354.137805: tlb_flush: x', // no -PID
      '            bash-5045    (  50x5) [000] ...1.  1354.137805: tlb_flush: x', // bad tgid
      '            bash-5045    (   5045) [000] ...1.  1354.13x805: tlb_flush: x', // bad ts
      '            bash-5045    (   5045) [000] ...1.  1354.137805: tlb flush: x', // bad name
      '\u0000\u0000[1] \u0000',
    ]) {
      expect(header(parseFtraceLine, bad).k, bad).toBe(LINE_MALFORMED);
    }
  });
});

describe('trace-cmd report grammar', () => {
  it('reads lines without tgid and flags, padded event names', () => {
    const a = header(parseTraceCmdLine, ' npm install vit-8034  [000]   241.878624: sched_switch:         npm install vit:8034 [120] S ==> stress-ng:8153 [120]');
    expect([a.k, a.h.comm, a.h.pid, a.h.tgid, a.h.cpu, a.h.ts, a.h.hardirq, a.h.name]).toEqual([
      LINE_EVENT, 'npm install vit', 8034, -1, 0, 241878624000, undefined, 'sched_switch',
    ]);
    expect(a.payload).toBe('npm install vit:8034 [120] S ==> stress-ng:8153 [120]');
    const b = header(parseTraceCmdLine, ' stress-ng-munma-11376 [001]   312.588577: sys_enter_munmap:     addr: 0x7f5d59df3000, len: 0x00001000');
    expect([b.h.comm, b.h.pid, b.h.cpu, b.h.name, b.payload]).toEqual(['stress-ng-munma', 11376, 1, 'sys_enter_munmap', 'addr: 0x7f5d59df3000, len: 0x00001000']);
  });

  it('cpus= header, lost markers with and without a count', () => {
    const m = meta();
    expect(header(parseTraceCmdLine, 'cpus=16', m).k).toBe(LINE_SKIP);
    expect(m.declaredCpus).toBe(16);
    const l = header(parseTraceCmdLine, 'CPU:0 [97270 EVENTS DROPPED]');
    expect([l.k, l.h.cpu, l.h.lostCount]).toEqual([LINE_LOST, 0, 97270]);
    expect(header(parseTraceCmdLine, 'CPU 5 is empty').k).toBe(LINE_SKIP);
    const u = header(parseTraceCmdLine, 'CPU:3 [EVENTS DROPPED]');
    expect([u.k, u.h.cpu, u.h.lostCount]).toEqual([LINE_LOST, 3, -1]);
  });

  it('rejects raw ftrace TGID lines and garbage', () => {
    expect(header(parseTraceCmdLine, FTRACE_HEAD[6]!).k).toBe(LINE_MALFORMED);
    expect(header(parseTraceCmdLine, 'not a line').k).toBe(LINE_MALFORMED);
  });
});

describe('perf script grammar', () => {
  it('reads tid, comm with spaces, system:event', () => {
    const a = header(parsePerfScriptLine, PERF_HEAD[2]!);
    expect([a.k, a.h.comm, a.h.pid, a.h.tgid, a.h.cpu, a.h.ts, a.h.name]).toEqual([
      LINE_EVENT, 'npm view cli-pr', 6326, -1, 0, 228228576000, 'sys_enter_mprotect',
    ]);
    expect(a.payload).toBe('start: 0x1c7deb140000, len: 0x00037000, prot: 0x00000003');
  });

  it('pid/tid (-F +pid) gives the tgid; `:-1 -1` is perf placeholder for an unknown task', () => {
    const a = header(parsePerfScriptLine, '            tlbw  5069/5071 [001]  1355.045584: irq_vectors:call_function_single_entry: vector=251');
    expect([a.h.comm, a.h.tgid, a.h.pid, a.h.tgidColumn, a.h.name]).toEqual(['tlbw', 5069, 5071, true, 'call_function_single_entry']);
    const b = header(parsePerfScriptLine, '             :-1    -1 [001]  1355.426093:                     sched:sched_switch: prev_comm=tlbw prev_pid=5071 prev_prio=120 prev_state=X ==> next_comm=swapper/1 next_pid=0 next_prio=120');
    expect([b.k, b.h.comm, b.h.pid, b.h.tgid]).toEqual([LINE_EVENT, ':-1', -1, -1]);
  });

  it('skips call-chain and blank lines, rejects other text', () => {
    expect(header(parsePerfScriptLine, '\tffffffff81234567 flush_tlb_func+0x0 ([kernel.kallsyms])').k).toBe(LINE_SKIP);
    expect(header(parsePerfScriptLine, '').k).toBe(LINE_SKIP);
    expect(header(parsePerfScriptLine, 'bash-5045 [000] 1.0: tlb_flush: x').k).toBe(LINE_MALFORMED);
  });
});

describe('common scanners', () => {
  it('parseTs: seconds.fraction to integer ns', () => {
    const ts = (s: string) => parseTs(s, 0, s.length);
    expect(ts('223.569749')).toBe(223569749000);
    expect(ts('1354.137805')).toBe(1354137805000);
    expect(ts('5.942904')).toBe(5942904000);
    expect(ts('12.123456789')).toBe(12123456789);
    expect(ts('12.1234567891')).toBe(12123456789);
    expect(ts('77')).toBe(77);
    expect(ts('1.')).toBeNaN();
    expect(ts('.5')).toBeNaN();
    expect(ts('1.2x')).toBeNaN();
  });

  it('parseLostLine only takes the three marker shapes', () => {
    const h = new LineHeader();
    expect(parseLostLine('CPU:2 [LOST 7 EVENTS]', h)).toBe(true);
    expect(parseLostLine('CPU:2 [7 EVENTS DROPPED]', h)).toBe(true);
    expect(parseLostLine('CPU:2 [EVENTS DROPPED]', h)).toBe(true);
    expect(parseLostLine('CPU:2 [LOST EVENTS]', h)).toBe(false);
    expect(parseLostLine('CPU:x [LOST 7 EVENTS]', h)).toBe(false);
    expect(parseLostLine('CPU 2 buffer started', h)).toBe(false);
  });
});

describe('header grammars: any comm survives (property)', () => {
  // comms as the kernel allows them (15 bytes, any printable character), without leading or
  // trailing blanks (the padding makes those invisible in every format)
  const comm = fc
    .stringMatching(/^[a-zA-Z0-9 :\-\[\]()@\/.<>_=]{1,15}$/)
    .filter((c) => c.trim() === c);
  const pid = fc.integer({ min: 0, max: 4194304 });
  const cpu = fc.integer({ min: 0, max: 4095 });
  const usec = fc.integer({ min: 0, max: 9_999_999_999_999 });
  const fmtTs = (us: number) => `${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')}`;

  it('raw ftrace', () => {
    fc.assert(
      fc.property(comm, pid, fc.option(pid), cpu, usec, (c, p, tgid, k, us) => {
        const tg = tgid === null ? '-------' : String(tgid);
        const line = `${c.padStart(16)}-${String(p).padEnd(7)} (${tg.padStart(7)}) [${String(k).padStart(3, '0')}] d.h1. ${fmtTs(us).padStart(12)}: tlb_flush: pages:-1 reason:remote shootdown (1)`;
        const { k: kind, h, payload } = header(parseFtraceLine, line);
        expect(kind).toBe(LINE_EVENT);
        expect([h.comm, h.pid, h.tgid, h.cpu, h.ts, h.hardirq, h.name]).toEqual([c, p, tgid ?? -1, k, us * 1000, true, 'tlb_flush']);
        expect(payload).toBe('pages:-1 reason:remote shootdown (1)');
      }),
    );
  });

  it('trace-cmd report', () => {
    fc.assert(
      fc.property(comm, pid, cpu, usec, (c, p, k, us) => {
        const line = `${c.padStart(16)}-${String(p).padEnd(5)} [${String(k).padStart(3, '0')}] ${fmtTs(us).padStart(12)}: sched_switch:         a:1 [120] R ==> b:2 [120]`;
        const { k: kind, h, payload } = header(parseTraceCmdLine, line);
        expect(kind).toBe(LINE_EVENT);
        expect([h.comm, h.pid, h.tgid, h.cpu, h.ts, h.name, payload]).toEqual([c, p, -1, k, us * 1000, 'sched_switch', 'a:1 [120] R ==> b:2 [120]']);
      }),
    );
  });

  it('perf script (TID and PID/TID)', () => {
    fc.assert(
      fc.property(comm, pid, fc.option(pid), cpu, usec, (c, p, tgid, k, us) => {
        const task = tgid === null ? String(p).padStart(6) : `${tgid}/${p}`;
        const line = `${c.padStart(16)} ${task} [${String(k).padStart(3, '0')}] ${fmtTs(us).padStart(12)}: ${'tlb:tlb_flush'.padStart(30)}: pages:0 reason:flush on task switch (0)`;
        const { k: kind, h } = header(parsePerfScriptLine, line);
        expect(kind).toBe(LINE_EVENT);
        expect([h.comm, h.pid, h.tgid, h.cpu, h.ts, h.name]).toEqual([c, p, tgid ?? -1, k, us * 1000, 'tlb_flush']);
      }),
    );
  });
});
