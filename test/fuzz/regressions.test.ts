// One deterministic case per class of damage the fuzzer (src/fuzz/) throws at the tool, each with
// the exact warning it must produce: production traces get truncated by full disks, cut by
// `head`, mangled by copy-paste, and carry whatever bytes processes chose as their names.
// Lines are real lines from fixtures/native-6.18-2cpu/mt-mixed (see helpers.ts).

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CPUS } from '../../src/events/cpumask.js';
import { Diagnostics } from '../../src/ingest/diagnostics.js';
import { InputError } from '../../src/errors.js';
import { MERGE_WINDOW_NS } from '../../src/ingest/index.js';
import { readAll } from '../../src/ingest/testutil.js';
import { analyzeTrace } from '../../src/pipeline/analyze.js';
import { renderHtml } from '../../src/report/html.js';
import { renderTerminal } from '../../src/report/terminal.js';
import { BODY, cli, fixture, HEADER, L, MT_MIXED, replaceBytes, TC, text, TmpDir } from './helpers.js';
import { hexMask, remapFtrace } from './remap.js';

let tmp: TmpDir;
beforeAll(() => {
  tmp = new TmpDir();
});
afterAll(() => tmp.remove());

const GRAMMAR = 'expected a ftrace line `comm-PID (TGID) [CPU] flags SECONDS.US: event: payload`, got';

/** events and warnings of an in-memory trace */
async function read(content: string | Buffer, opts: { maxLineLength?: number } = {}) {
  return readAll(['-'], { stdin: Buffer.from(content), ...opts }, new Diagnostics({ examplesPerCode: 20 }));
}

describe('bad input is refused with exit 2 and a message naming the file', () => {
  it('binary garbage', async () => {
    const garbage = Buffer.alloc(64 * 1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) % 256;
    const p = tmp.file('garbage.bin', garbage);
    const r = await cli('analyze', p, '--json');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^tlbtrace: ${p}:1: not a trace: expected raw ftrace, trace-cmd report or perf script text \\(first line: "`));
    // the quoted first line shows bytes as \xNN, never raw control characters or U+FFFD
    expect(r.stderr).toContain('(first line: "\\x0d\\xfc\\xeb');
    // eslint-disable-next-line no-control-regex
    expect(r.stderr.trimEnd()).not.toMatch(/[\u0000-\u0008\u000b-\u001f\ufffd]/);
  });

  it('a zero-filled file (a crash left only the allocated blocks)', async () => {
    const p = tmp.file('zeros.txt', Buffer.alloc(10_000));
    const r = await cli('analyze', p);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${p}:1: not a trace`);
    expect(r.stderr).toContain('(first line: "\\x00\\x00\\x00');
  });

  it('a gzip file cut before anything decodes', async () => {
    const gz = gzipSync(text([...HEADER, ...BODY]));
    const p = tmp.file('cut-early.txt.gz', gz.subarray(0, 12));
    const r = await cli('analyze', p);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^tlbtrace: ${p}: gzip stream ends early .*nothing could be read`));
  });
});

describe('truncated and cut input', () => {
  it('truncated gzip: truncated true, a warning, the events decoded so far reported', async () => {
    const full = fixture('native-6.18-2cpu/mt-mixed/ftrace.txt.gz');
    const gz = readFileSync(join(MT_MIXED, 'ftrace.txt.gz'));
    const p = tmp.file('truncated.txt.gz', gz.subarray(0, Math.floor(gz.length / 2)));
    const s = await analyzeTrace([p]);
    expect(s.input.truncated).toBe(true);
    expect(s.input.warnings.byCode).toEqual({ 'truncated-input': 1 });
    expect(s.input.warnings.examples[0]!.message).toMatch(
      /^gzip stream ends early \(unexpected end of file\): the file is truncated; the last, incomplete line was dropped$/,
    );
    // about half of the 33 429 events, all of them from complete lines
    expect(s.input.events).toBeGreaterThan(10_000);
    expect(s.input.events).toBeLessThan(33_429);
    const complete = await read(full.subarray(0, full.lastIndexOf('\n', full.length / 2) + 1));
    expect(s.input.events).toBeLessThanOrEqual(complete.events.length + 40_000);
    // and the CLI still exits 0 with the numbers
    const r = await cli('analyze', p, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).input.truncated).toBe(true);
  });

  it('cut by `head -c`: the last, partial line is a malformed line (plain text cannot tell)', async () => {
    const t = text([...HEADER, ...BODY]);
    const r = await read(t.slice(0, t.indexOf(L.flush5) + 40));
    expect(r.events.map((e) => e.line)).toEqual([7, 8, 9, 10, 11, 12]);
    expect(r.diag.byCode()).toEqual({ 'malformed-line': 1 });
    expect(r.diag.examples[0]).toMatchObject({ line: 13, message: `${GRAMMAR} "          <idle>-0       (-------) [001]"` });
  });

  it('a line cut short inside its payload: malformed-payload saying what was expected', async () => {
    const r = await read(text([...HEADER, L.flush4.slice(0, L.flush4.indexOf(' (4)')), L.queue.slice(0, 90)]));
    expect(r.events).toHaveLength(0);
    expect(r.diag.examples.map((x) => [x.code, x.message])).toEqual([
      ['malformed-payload', 'tlb_flush: expected a trailing `(reason number)`'],
      ['malformed-payload', 'csd_queue_cpu: expected `cpu=N callsite=.. func=.. csd=..`'],
    ]);
  });
});

describe('mangled lines', () => {
  it('dropped, duplicated and swapped lines: counts follow the lines, time disorder is reported', async () => {
    const dropped = await read(text([...HEADER, ...BODY.filter((l) => l !== L.queue)]));
    expect(dropped.events).toHaveLength(8);
    expect(dropped.diag.total).toBe(0);
    // CPU 1's 1354.137849 line again after CPU 0's 1354.137856: merged back in time order
    const dup = await read(text([...HEADER, ...BODY, L.flush5, L.flush5]));
    expect(dup.events).toHaveLength(11);
    expect(dup.diag.byCode()).toEqual({ 'ts-reordered': 2 });
    expect(dup.events.at(-1)).toMatchObject({ kind: 'sched_process_fork' });
    // two lines of CPU 0 swapped: its clock goes back, flagged and kept in input order
    const swapped = await read(text([...HEADER, L.queue, L.flush4, ...BODY.slice(2)]));
    expect(swapped.events.map((e) => e.line)).toEqual([7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(swapped.diag.examples).toEqual([
      { file: '<stdin>', line: 8, code: 'ts-backwards', message: "timestamp 1354137805000 ns on CPU 0 is earlier than the previous event's 1354137806000 ns" },
    ]);
  });

  it('a flipped byte in the header columns: malformed-line quoting the line', async () => {
    const flipped = L.queue.replace('[000]', '[0x0]');
    const r = await read(text([...HEADER, L.flush4, flipped, L.ipi]));
    expect(r.events).toHaveLength(2);
    expect(r.diag.examples).toEqual([
      { file: '<stdin>', line: 8, code: 'malformed-line', message: `${GRAMMAR} "            bash-5045    (   5045) [0x0] ...2.  13"...` },
    ]);
  });

  it('two formats spliced: perf script lines in raw ftrace are malformed lines', async () => {
    const perf = [
      '            perf  5068 [000]  1355.042436:                 csd:csd_function_entry: func=remote_function, csd=(nil)',
      '     rcu_preempt    15 [000]  1355.042437:                          tlb:tlb_flush: pages:0 reason:flush on task switch (0)',
    ];
    const r = await read(text([...HEADER, L.flush4, ...perf, L.queue]));
    expect(r.meta.format).toBe('ftrace');
    expect(r.events.map((e) => e.line)).toEqual([7, 10]);
    expect(r.diag.byCode()).toEqual({ 'malformed-line': 2 });
    expect(r.diag.examples[0]!.message).toBe(`${GRAMMAR} "${perf[0]!.slice(0, 50)}"...`);
    // trace-cmd report lines are the same grammar minus optional columns: read as the events they are
    const tc = await read(text([...HEADER, L.entry1, ...TC]));
    expect(tc.diag.byCode()).toEqual({ 'ts-reordered': 3 });
    expect(tc.events.map((e) => e.kind)).toEqual(['tlb_flush', 'csd_queue_cpu', 'ipi_send_cpu', 'csd_function_entry']);
  });

  it('a mangled first line does not make the trace "not a trace" (most of the first lines decide)', async () => {
    const r = await read(text(['bash-5045 (  ', ...BODY]));
    expect(r.meta.format).toBe('ftrace');
    expect(r.events).toHaveLength(9);
    expect(r.diag.examples[0]).toMatchObject({ line: 1, code: 'malformed-line' });
  });

  it('CRLF line ends: the same events, no warning', async () => {
    const lf = await read(text([...HEADER, ...BODY]));
    const crlf = await read(text([...HEADER, ...BODY], '\r\n'));
    expect(crlf.diag.total).toBe(0);
    expect(crlf.events).toEqual(lf.events);
    // also trace-cmd report text
    const tc = await read(text(['cpus=2', ...TC], '\r\n'));
    expect(tc.diag.total).toBe(0);
    expect(tc.events.map((e) => e.kind)).toEqual(['tlb_flush', 'csd_queue_cpu', 'ipi_send_cpu']);
  });

  it('warning examples stay bounded however many warnings there are', async () => {
    const bad = Array.from({ length: 10_000 }, (_, i) => `garbage line ${i}`);
    const s = await analyzeTrace(['-'], { ingest: { stdin: Buffer.from(text([...HEADER, ...BODY, ...bad])) } });
    expect(s.input.warnings.byCode).toEqual({ 'malformed-line': 10_000 });
    expect(s.input.warnings.examples).toHaveLength(3);
    expect(s.input.events).toBe(9);
  });
});

describe('NUL bytes and invalid UTF-8', () => {
  it('NUL in a comm: the line is skipped with a warning (text traces never hold NUL)', async () => {
    const nul = Buffer.from(L.queue.replace('bash-5045', 'ba\u0000sh-5045'));
    const r = await read(Buffer.concat([Buffer.from(text([...HEADER, L.flush4])), nul, Buffer.from('\n' + L.ipi + '\n')]));
    expect(r.events.map((e) => e.kind)).toEqual(['tlb_flush', 'ipi_send_cpu']);
    expect(r.diag.examples).toEqual([
      { file: '<stdin>', line: 8, code: 'malformed-line', message: 'NUL byte at column 15 (binary data or a zero-filled hole, not trace text); line skipped' },
    ]);
  });

  it('a zero-filled hole in the middle of a file (crash): one warning per hole line, the rest parses', async () => {
    const hole = Buffer.concat([Buffer.from(text([...HEADER, L.flush4])), Buffer.alloc(8192), Buffer.from(L.queue + '\n' + L.ipi + '\n')]);
    const r = await read(hole);
    // the zeros and the line they run into are one line without a newline between them
    expect(r.events.map((e) => e.kind)).toEqual(['tlb_flush', 'ipi_send_cpu']);
    expect(r.diag.byCode()).toEqual({ 'malformed-line': 1 });
    expect(r.diag.examples[0]!.message).toMatch(/^NUL byte at column 1 /);
  });

  it('invalid UTF-8 in a comm: kept, its bytes written as \\xNN', async () => {
    const bad = Buffer.from(L.flush4.replace('bash-5045', 'caf\u00ff-5045'), 'latin1'); // 0xff: never valid UTF-8
    const latin1 = Buffer.from(L.queue.replace('bash-5045', 'caf\u00e9-5045'), 'latin1'); // Latin-1 é
    const r = await read(Buffer.concat([Buffer.from(text(HEADER)), bad, Buffer.from('\n'), latin1, Buffer.from('\n')]));
    expect(r.diag.total).toBe(0);
    expect(r.events.map((e) => e.comm)).toEqual(['caf\\xff', 'caf\\xe9']);
  });
});

describe('hostile comms in the reports', () => {
  // the process that does the shootdowns in mt-mixed is `tlbw`: give it a hostile name
  async function withComm(comm: Buffer) {
    const trace = replaceBytes(fixture('native-6.18-2cpu/mt-mixed/ftrace.txt.gz'), 'tlbw', comm);
    const s = await analyzeTrace(['-'], { ingest: { stdin: trace } });
    expect(s.input.warnings.total).toBe(0);
    return s;
  }

  it('invalid UTF-8: escaped in the HTML and visible-escaped in the terminal', async () => {
    const s = await withComm(Buffer.from([0x74, 0x6c, 0x62, 0xe9, 0xff, 0x1b, 0x5b, 0x33, 0x31, 0x6d])); // tlb é 0xff ESC[31m
    const comm = 'tlb\\xe9\\xff\u001b[31m';
    expect(s.observed.topMms.map((m) => m.comm)).toContain(comm);
    const term = renderTerminal(s, { color: false });
    expect(term).toContain('tlb\\xe9\\xff\\x1b[31m[');
    // eslint-disable-next-line no-control-regex
    expect(term).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffd]/);
    const html = await renderHtml(s);
    expect(html).toContain('<code>tlb\\xe9\\xff\\x1b[31m</code>');
    // eslint-disable-next-line no-control-regex
    expect(html.replace(/[\t\n\r]/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\ufffd]/);
  }, 60_000);

  it('`<img src=x onerror=alert(1)>`: markup-escaped everywhere in the HTML', async () => {
    const s = await withComm(Buffer.from('<img src=x onerror=alert(1)>'));
    expect(s.observed.topMms.map((m) => m.comm)).toContain('<img src=x onerror=alert(1)>');
    const html = await renderHtml(s);
    expect(html).not.toMatch(/<img/i);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    // the summary embedded as JSON cannot end its <script> element either
    expect(html).toContain('\\u003cimg src=x onerror=alert(1)\\u003e');
    expect(renderTerminal(s, { color: false })).toContain('<img src=x onerror=alert(1)>[');
  }, 60_000);
});

describe('limits that protect memory', () => {
  it('a 1 MB line: skipped with a warning, the lines around it parse', async () => {
    const huge = L.queue.replace('bash-5045', 'x'.repeat(1 << 20) + '-5045');
    const r = await read(text([...HEADER, L.flush4, huge, L.ipi]));
    expect(r.events.map((e) => e.kind)).toEqual(['tlb_flush', 'ipi_send_cpu']);
    expect(r.diag.examples).toEqual([
      { file: '<stdin>', line: 8, code: 'line-too-long', message: `line of ${huge.length} characters skipped (limit --max-line-length)` },
    ]);
    // a lower limit through the CLI
    const p = tmp.file('long.txt', text([...HEADER, L.flush4, L.queue + ' ' + 'y'.repeat(600), L.ipi]));
    const c = await cli('analyze', p, '--json', '--max-line-length', '512');
    expect(c.code).toBe(0);
    const w = JSON.parse(c.stdout).input.warnings;
    expect(w.byCode).toEqual({ 'line-too-long': 1 });
    expect(w.examples[0].message).toBe(`line of ${L.queue.length + 601} characters skipped (limit --max-line-length)`);
  });

  it('a CPU list or hex mask naming absurd CPUs costs nothing and is a malformed payload', async () => {
    const list = 'cpus=2\n' + TC[2]!.replace('ipi_send_cpu:         cpu=1', 'ipi_send_cpumask:     cpumask=0-4000000000') + '\n';
    const t0 = Date.now();
    const r = await read(list);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(r.diag.examples[0]!.message).toBe('ipi_send_cpumask: cpumask: CPU 4000000000 is out of range (the header declares 2 CPUs)');
    // 140 000 ranges of 8192 CPUs each (a 1 MB line): merged, not expanded one by one
    const many = TC[2]!.replace('ipi_send_cpu:         cpu=1', `ipi_send_cpumask:     cpumask=${Array(140_000).fill('0-8191').join(',')}`);
    const t1 = Date.now();
    const m = await read(text([many]));
    expect(Date.now() - t1).toBeLessThan(2000);
    expect(m.events[0]).toMatchObject({ kind: 'ipi_send_cpumask' });
    expect((m.events[0] as { targets: number[] }).targets).toHaveLength(8192);
  });

  it('timestamps too large for a u64 clock are malformed lines, not Infinity', async () => {
    const r = await read(text([...HEADER, L.flush4.replace('1354.137805', '9'.repeat(400) + '.5'), L.queue]));
    expect(r.events).toHaveLength(1);
    expect(r.diag.byCode()).toEqual({ 'malformed-line': 1 });
  });

  it('a header declaring an absurd CPU count is ignored with a warning', async () => {
    const s = await analyzeTrace(['-'], { ingest: { stdin: Buffer.from(text([...HEADER.map((l) => l.replace('#P:2', '#P:99999999')), ...BODY])) } });
    expect(s.input.declaredCpus).toBeNull();
    expect(s.input.cpus).toBe(2);
    expect(s.input.warnings.examples).toEqual([
      { file: '<stdin>', line: 3, code: 'malformed-header', message: `the header declares 99999999 CPUs (expected 1 to ${MAX_CPUS}); ignored` },
    ]);
  });
});

describe('CPU numbers', () => {
  it('beyond the count the header declares (#P): the line is skipped with a warning', async () => {
    const r = await read(text([...HEADER, L.flush4, L.queue.replace('[000]', '[007]'), L.ipi]));
    expect(r.events).toHaveLength(2);
    expect(r.diag.examples).toEqual([
      { file: '<stdin>', line: 8, code: 'cpu-out-of-range', message: 'CPU 7 is out of range: the header declares 2 CPUs (#P:2); line skipped' },
    ]);
  });

  it('beyond cpus=N of trace-cmd, and in payload targets', async () => {
    const r = await read(text(['cpus=2', TC[0]!.replace('[000]', '[002]'), TC[1]!.replace('cpu=1', 'cpu=5'), TC[2]!]));
    expect(r.events.map((e) => e.kind)).toEqual(['ipi_send_cpu']);
    expect(r.diag.examples.map((x) => [x.code, x.message])).toEqual([
      ['cpu-out-of-range', 'CPU 2 is out of range: the header declares 2 CPUs (cpus=2); line skipped'],
      ['malformed-payload', 'csd_queue_cpu: CPU 5 is out of range (the header declares 2 CPUs)'],
    ]);
  });

  it('without a header: up to NR_CPUS (8192), and a lost-events marker is checked too', async () => {
    const pipe = [L.flush4, L.queue.replace('[000]', '[8191]'), L.ipi.replace('[000]', '[8192]'), 'CPU:99999 [LOST 3 EVENTS]', 'CPU:1 [LOST 3 EVENTS]'];
    const r = await read(text(pipe));
    expect(r.events.map((e) => [e.kind, e.cpu])).toEqual([['tlb_flush', 0], ['csd_queue_cpu', 8191], ['lost_events', 1]]);
    expect(r.diag.examples.map((x) => x.message)).toEqual([
      'CPU 8192 is out of range: NR_CPUS is at most 8192; line skipped',
      'CPU 99999 is out of range: NR_CPUS is at most 8192; line skipped',
    ]);
  });

  it('a 4096-CPU machine (CPU 4095 events, 128-word cpumasks in both printings): 4096 CPUs, memory sane', async () => {
    // qemu-6.12-8cpu/mt-munmap with CPU c renumbered 585*c: CPUs 0, 585, ..., 4095
    const big = remapFtrace(fixture('qemu-6.12-8cpu/mt-munmap/ftrace.txt.gz').toString(), (c) => c * 585, 4096);
    expect(big).toMatch(/cpumask=(?:[0-9a-f]{8},){127}[0-9a-f]{8} /);
    const before = process.memoryUsage().heapUsed;
    const s = await analyzeTrace(['-'], { ingest: { stdin: Buffer.from(big) } });
    const grown = process.memoryUsage().heapUsed - before;
    const orig = await analyzeTrace([join(MT_MIXED, '../../qemu-6.12-8cpu/mt-munmap/ftrace.txt.gz')]);
    expect(s.input.cpus).toBe(4096);
    expect(s.input.declaredCpus).toBe(4096);
    expect(s.input.lost.perCpu).toHaveLength(4096);
    expect(Object.keys(s.input.eventsByCpu)).toHaveLength(4096);
    expect(s.input.eventsByCpu['4095']).toBe(orig.input.eventsByCpu['7']);
    expect(s.input.warnings.total).toBe(0);
    expect(s.input.events).toBe(orig.input.events);
    expect(s.observed.remoteShootdowns.total).toBe(orig.observed.remoteShootdowns.total);
    expect(grown).toBeLessThan(200 * 1024 * 1024);
    // the CPU-list printing of the same masks (trace-cmd), e.g. `cpumask=585,1170,4095`
    const list = `cpus=4096\n            init-1     [585]     8.609830: ipi_send_cpumask:     cpumask=0,585-586,4095 callsite=x+0x1 callback=generic_smp_call_function_single_interrupt+0x0\n`;
    const l = await read(list);
    expect(l.events[0]).toMatchObject({ cpu: 585, targets: [0, 585, 586, 4095] });
    expect(hexMask([0, 4095], 4096).split(',')).toHaveLength(128);
  }, 60_000);
});

describe('timestamps out of order', () => {
  it('one CPU going backwards: ts-backwards, the event kept in input order', async () => {
    const back = L.exit1.replace('1354.137849', '1354.137840');
    const r = await read(text([...HEADER, L.cfse, L.entry1, back]));
    expect(r.events.map((e) => e.line)).toEqual([7, 8, 9]);
    expect(r.diag.examples).toEqual([
      { file: '<stdin>', line: 9, code: 'ts-backwards', message: "timestamp 1354137840000 ns on CPU 1 is earlier than the previous event's 1354137848000 ns" },
    ]);
  });

  it('CPUs interleaved (trace_pipe): merged back into time order within the window, counted', async () => {
    // CPU 1's handler printed before CPU 0's request that caused it
    const r = await read(text([...HEADER, L.cfse, L.entry1, L.flush5, L.exit1, L.flush4, L.queue, L.ipi]));
    expect(r.events.map((e) => e.line)).toEqual([11, 12, 13, 7, 8, 9, 10]);
    expect(r.diag.byCode()).toEqual({ 'ts-reordered': 3 });
    expect(r.diag.examples[0]!.message).toBe(
      'timestamp 1354137805000 ns on CPU 0 is 44000 ns earlier than the event before it (another CPU\'s): merged back into time order',
    );
    // the model then pairs them as if read in order
    const inOrder = await analyzeTrace(['-'], { ingest: { stdin: Buffer.from(text([...HEADER, ...BODY])) }, policies: ['observed'] });
    const merged = await analyzeTrace(['-'], { ingest: { stdin: Buffer.from(text([...HEADER, L.cfse, L.entry1, L.flush5, L.exit1, L.flush4, L.queue, L.ipi, L.entry0, L.fork])) }, policies: ['observed'] });
    expect(merged.observed).toEqual(inOrder.observed);
  });

  it('disorder beyond the merge window is left in input order (a clock jump is not reordered)', async () => {
    const late = L.flush4.replace('1354.137805', ((1354137848000 - MERGE_WINDOW_NS - 1000) / 1e9).toFixed(6));
    const r = await read(text([...HEADER, L.cfse, L.entry1, late]));
    expect(r.events.map((e) => e.line)).toEqual([7, 8, 9]);
    expect(r.diag.total).toBe(0);
  });
});

describe('outputs', () => {
  it('`analyze x --html x` and `-o` onto the input are refused before reading, the input untouched', async () => {
    const p = tmp.file('in.txt', text([...HEADER, ...BODY]));
    const before = readFileSync(p);
    const mtime = statSync(p).mtimeMs;
    for (const args of [['--html', p], ['-o', p], ['--json', '-o', join(tmp.path, '.', 'in.txt')]]) {
      const r = await cli('analyze', p, ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`tlbtrace: refusing to overwrite input ${p} with output ${args.at(-1)}; choose another output path\n`);
      expect(r.stdout).toBe('');
    }
    expect(readFileSync(p)).toEqual(before);
    expect(statSync(p).mtimeMs).toBe(mtime);
  });

  it('-o and --html naming one file are refused', async () => {
    const p = tmp.file('in2.txt', text([...HEADER, ...BODY]));
    const out = tmp.join('same.out');
    const r = await cli('analyze', p, '-o', out, '--html', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`tlbtrace: -o and --html name the same file ${out}; choose two paths\n`);
    expect(existsSync(out)).toBe(false);
  });

  it('an output that cannot be written: exit 2 naming it, no temp file left behind', async () => {
    const p = tmp.file('in3.txt', text([...HEADER, ...BODY]));
    const missing = join(tmp.path, 'no-such-dir', 'report.html');
    const r = await cli('analyze', p, '--html', missing);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`tlbtrace: cannot write ${missing}: ENOENT: directory ${join(tmp.path, 'no-such-dir')} does not exist`);
    const d = await cli('analyze', p, '-o', tmp.path);
    expect(d.code).toBe(2);
    expect(d.stderr).toContain(`tlbtrace: cannot write ${tmp.path}: it is a directory`);
  });

  it('InputError is what a bad input throws (the type the CLI maps to exit 2)', async () => {
    await expect(analyzeTrace(['-'], { ingest: { stdin: Buffer.from('hello\n') } })).rejects.toBeInstanceOf(InputError);
  });
});
