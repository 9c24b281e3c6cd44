// The benchmark's report: the text tables (render) and the tlbtrace.bench/1 JSON (jsonOut).

import { issue18Lines, perEventFigures, perEventLine } from './per-event.js';
import { AUTO_THREAD, FLOORS, OTHER_THREAD, type CaptureResult, type Key, type Measurement, type RuntimeKey } from './capture.js';
import { fmtInt, fmtMB, fmtRate, fmtS, fmtX, pct, renderTable } from './format.js';
import type { MachineInfo } from './machine.js';
import type { Options, Ratio } from './options.js';
import { STARTUP_NEGLIGIBLE, TARGET_DAT, TARGET_FLAT, TARGET_RSS, TARGET_TEXT, type Target } from './targets.js';

/** the Measurement field of each metric's time */
export const metricTime = { wall: 'wallS', cpu: 'cpuS', main: 'mainCpuS' } as const;

/**
 * The share of a target's time budget (trace-cmd's time / goal) that a run whose events/s are
 * `ratio` x trace-cmd's takes: goal / ratio. Over 100%, that run alone misses the target.
 */
export function share(ratio: number | undefined, goal: number): string {
  return ratio === undefined || !Number.isFinite(ratio) || ratio <= 0 ? '-' : `${((goal / ratio) * 100).toFixed(0)}%`;
}

/** budget shares of a run, raw (as the speed targets compare) and with the start-up subtracted */
export const budgetShare = (raw: number | undefined, net: number | undefined, goal: number): string => `${share(raw, goal)} (${share(net, goal)} minus start-up)`;


export function render(o: Options, machine: MachineInfo, startup: Measurement, results: CaptureResult[], tgs: Target[], globalNotes: string[]): string {
  let s = '';
  s += `tlbtrace benchmark (median of ${o.runs} run${o.runs > 1 ? 's' : ''} per measurement; ratios of events/s)\n`;
  s += `machine: ${machine.nproc} CPUs (nproc), ${machine.cpuModel}, ${fmtInt(machine.memTotalMB)} MB RAM, node ${machine.node}, linux ${machine.kernel}, trace-cmd ${machine.traceCmd ?? 'not installed'}\n`;
  s += `load average (1 min): ${machine.loadStart.toFixed(2)} at start, ${machine.loadEnd?.toFixed(2) ?? '-'} at end\n`;
  if (machine.loadStart > machine.nproc * 0.5) {
    s += `  note: the machine was busy at start (other processes): wall-clock times are inflated and noisy; the cpu-time ratios are the steadier figure\n`;
  }
  s += `runtime: node ${machine.node}, zstd through ${ZSTD_NAME[machine.zstd]}${runtimesLine(results)}\n`;
  s += `PASS/FAIL metric: ${o.metric} (${o.metricWhy})\n`;
  s += `tlbtrace start-up (node + CLI load, \`tlbtrace --version\` via the child entry): ${fmtS(startup.wallS)} s wall, ${fmtS(startup.cpuS)} s cpu; subtracted from every tlbtrace time below before computing events/s (M ev/s columns); ${o.copies > 0 ? `the ${o.copies}x copies rows' ratio column gives both, raw and minus start-up` : 'no copies rows (--copies 0)'}\n`;
  s += `peak RSS: VmHWM of each tlbtrace child (its own peak resident set; process.resourceUsage().maxRSS, also in --json, adds the bench parent's RSS at fork)\n`;
  for (const c of results) {
    const m = c.measurements;
    s += `\n== ${c.capture}: ${fmtInt(c.events)} events; text ${(c.textBytes / 1e6).toFixed(1)} MB, trace.dat ${(c.datBytes / 1e6).toFixed(1)} MB`;
    if (c.copies) s += `; ${c.copies.copies}x copies: text ${(c.copies.textBytes / 1e6).toFixed(1)} MB, trace.dat ${(c.copies.datBytes / 1e6).toFixed(1)} MB (v${c.copies.datVersion}, ${c.copies.datCompression})`;
    s += '\n';
    const rows: string[][] = [['what', 'events', 'wall s', 'cpu s', 'main-thread s', 'M ev/s wall', 'M ev/s cpu', `ratio (${o.metric})`, 'peak RSS']];
    const ratioCell = (x: Measurement): string => {
      const pick = (r: Ratio | undefined) => (r ? r[o.metric] : undefined);
      switch (x.key) {
        case 'tracecmd':
          return '1x (reference)';
        case 'text':
          return m.tracecmd ? `${fmtX(pick(c.ratios.textVsTraceCmd))} trace-cmd` : '-';
        case 'dat': {
          const parts: string[] = [];
          if (m.tracecmd) parts.push(`${fmtX(pick(c.ratios.datVsTraceCmd))} trace-cmd`);
          parts.push(`${fmtX(pick(c.ratios.datVsText))} text`);
          return parts.join(', ');
        }
        case 'datOther':
          return `${fmtX(pick(c.ratios.datOtherVsDat))} ingest on ${AUTO_THREAD}`;
        case 'streamN':
          return c.ratios.rssNxVs1x === undefined ? '-' : `RSS ${c.ratios.rssNxVs1x >= 0 ? '+' : ''}${(c.ratios.rssNxVs1x * 100).toFixed(1)}% vs 1x`;
        case 'tracecmdCopies':
          return `1x (reference for ${c.copies?.copies}x)`;
        case 'textCopies':
          return `${fmtX(pick(c.ratios.textCopiesVsTraceCmdRaw))} raw, ${fmtX(pick(c.ratios.textCopiesVsTraceCmd))} minus start-up`;
        case 'datCopies':
          return `${fmtX(pick(c.ratios.datCopiesVsTraceCmdRaw))} raw, ${fmtX(pick(c.ratios.datCopiesVsTraceCmd))} minus start-up`;
        case 'textReadCopies':
        case 'textIngestCopies':
        case 'datReadCopies':
        case 'datIngestCopies': {
          const f = FLOORS[x.key]!;
          const goal = f.input === 'text' ? TARGET_TEXT : TARGET_DAT;
          const raw = pick(c.ratios.floorsVsTraceCmdRaw?.[x.key]);
          return `${fmtX(raw)} raw: ${share(raw, goal)} of the ${goal}x budget`;
        }
        default:
          return '-';
      }
    };
    for (const x of Object.values(m)) {
      if (x.error !== undefined && x.samples.length === 0) {
        rows.push([x.what, fmtInt(x.events), 'FAILED', '', '', '', '', '', '']);
        continue;
      }
      rows.push([
        x.what,
        fmtInt(x.events),
        fmtS(x.wallS),
        fmtS(x.cpuS),
        fmtS(x.mainCpuS),
        fmtRate(x.rateWall),
        fmtRate(x.rateCpu),
        ratioCell(x),
        fmtMB(x.maxRss),
      ]);
    }
    s += renderTable(rows, new Set([1, 2, 3, 4, 5, 6]));
    const r = c.ratios;
    const both = (x: Ratio | undefined) => (x ? `${fmtX(x.wall)} wall, ${fmtX(x.cpu)} cpu, ${fmtX(x.main)} main-thread` : 'not measured');
    s += `ratios: text/trace-cmd ${both(r.textVsTraceCmd)}; trace.dat/trace-cmd ${both(r.datVsTraceCmd)}; trace.dat/text ${both(r.datVsText)}; ingest on ${OTHER_THREAD}/${AUTO_THREAD} ${both(r.datOtherVsDat)}\n`;
    if (c.copies) {
      const n = c.copies.copies;
      const sh = (x: Ratio | undefined) => (x ? `${pct(x.wall)} wall, ${pct(x.cpu)} cpu, ${pct(x.main)} main-thread` : 'not measured');
      s += `ratios on ${n}x copies, raw (start-up included): text/trace-cmd ${both(r.textCopiesVsTraceCmdRaw)}; trace.dat/trace-cmd ${both(r.datCopiesVsTraceCmdRaw)}\n`;
      s += `ratios on ${n}x copies, minus start-up: text/trace-cmd ${both(r.textCopiesVsTraceCmd)}; trace.dat/trace-cmd ${both(r.datCopiesVsTraceCmd)}\n`;
      s += `start-up share of the ${n}x runs: text ${sh(r.startupShareTextCopies)}; trace.dat ${sh(r.startupShareDatCopies)} (under ${pct(STARTUP_NEGLIGIBLE)}: the raw ratio is the steady state issue #7 asks for)\n`;
      const cp = c.copies;
      const cnt = (v: number | null) => (v === null ? 'not counted' : fmtInt(v));
      const b = (input: 'text' | 'dat', goal: number, analyzeRaw: Ratio | undefined, analyzeNet: Ratio | undefined): string => {
        const ref = m.tracecmdCopies?.[metricTime[o.metric]];
        const floors = (Object.keys(FLOORS) as Key[]).filter((k) => FLOORS[k]!.input === input);
        const cells = [
          ...floors.map((k) => `${FLOORS[k]!.stage} alone ${budgetShare(r.floorsVsTraceCmdRaw?.[k]?.[o.metric], r.floorsVsTraceCmd?.[k]?.[o.metric], goal)}`),
          `analyze ${budgetShare(analyzeRaw?.[o.metric], analyzeNet?.[o.metric], goal)}`,
        ];
        return `${input === 'text' ? 'text' : 'trace.dat'} at ${goal}x: ${ref === undefined ? '-' : fmtS(ref / goal)} s, ${cells.join(', ')}`;
      };
      s += `time budget of the targets on ${n}x copies (${o.metric}; trace-cmd's time / target; the floors: src/bench/floor.ts): ${b('text', TARGET_TEXT, r.textCopiesVsTraceCmdRaw, r.textCopiesVsTraceCmd)}; ${b('dat', TARGET_DAT, r.datCopiesVsTraceCmdRaw, r.datCopiesVsTraceCmd)}\n`;
      const pe = perEventFigures(c, startup);
      if (pe !== null) s += `${perEventLine(pe)}\n`;
      s += `${n}x event counts: text ${cnt(cp.eventsText)}, trace.dat ${cnt(cp.eventsDat)}; ${n} x ${fmtInt(c.events)} = ${fmtInt(cp.eventsExpected)}: ${cp.eventsMatch ? 'match' : 'MISMATCH'} (copies ${(cp.shiftNs / 1e9).toFixed(6)} s apart)\n`;
    }
    for (const x of Object.values(m)) if (x.error) s += `  ${x.what}: failed: ${x.error}\n`;
    s += runtimeTable(o, c, startup);
    for (const n of c.notes) s += `  note: ${n}\n`;
  }
  for (const n of globalNotes) s += `note: ${n}\n`;
  s += '\n';
  for (const t of tgs) s += `${t.pass === null ? 'N/A ' : t.pass ? 'PASS' : 'FAIL'}  ${t.name}${t.basis ? `, ${t.basis}` : ''}: ${t.detail}\n`;
  for (const line of issue18Lines(results.flatMap((c) => perEventFigures(c, startup) ?? []), results)) s += `${line}\n`;
  return s;
}

export function jsonOut(o: Options, machine: MachineInfo, startup: Measurement, results: CaptureResult[], tgs: Target[], globalNotes: string[], skipped?: string): unknown {
  const meas = (x: Measurement) => ({
    what: x.what,
    events: x.events,
    runs: x.samples.length,
    wallS: x.wallS ?? null,
    cpuS: x.cpuS ?? null,
    netWallS: x.netWallS ?? null,
    netCpuS: x.netCpuS ?? null,
    eventsPerSecWall: x.rateWall ?? null,
    eventsPerSecCpu: x.rateCpu ?? null,
    mainThreadCpuS: x.mainCpuS ?? null,
    netMainThreadCpuS: x.netMainCpuS ?? null,
    eventsPerSecMainThread: x.rateMain ?? null,
    eventsPerSecWallRaw: x.rawRateWall ?? null,
    eventsPerSecCpuRaw: x.rawRateCpu ?? null,
    eventsPerSecMainThreadRaw: x.rawRateMain ?? null,
    maxRssBytes: x.maxRss ?? null,
    samples: x.samples.map((s) => ({ wallS: s.wallS, cpuS: s.cpuS ?? null, mainThreadCpuS: s.mainCpuS ?? null, maxRssBytes: s.maxRss ?? null, rusageMaxRssBytes: s.maxRssRusage ?? null, cliS: s.cliS ?? null })),
    error: x.error ?? null,
  });
  return {
    schema: 'tlbtrace.bench/1',
    date: new Date().toISOString(),
    skipped: skipped ?? null,
    machine,
    options: { runs: o.runs, scale: o.scale, metric: o.metric, metricWhy: o.metricWhy, captures: o.captures, traces: o.traces, copies: o.copies },
    targets: {
      textVsTraceCmd: TARGET_TEXT,
      datVsTraceCmd: TARGET_DAT,
      maxRssBytes: TARGET_RSS,
      rssFlatWithin: TARGET_FLAT,
      startupNegligibleBelow: STARTUP_NEGLIGIBLE,
    },
    startup: startup.samples.length ? meas(startup) : null,
    captures: results.map((c) => ({
      capture: c.capture,
      events: c.events,
      textBytes: c.textBytes,
      datBytes: c.datBytes,
      scale: c.scale,
      measurements: Object.fromEntries(Object.entries(c.measurements).map(([k, x]) => [k, meas(x)])),
      ratios: c.ratios,
      copies: c.copies ?? null,
      runtimes: c.runtimes.map((r) => ({
        label: r.runtime.label,
        node: r.runtime.version,
        env: r.runtime.env,
        startup: meas(r.startup),
        measurements: Object.fromEntries(Object.entries(r.measurements).map(([k, x]) => [k, { ...meas(x), zstd: x.zstd ?? null }])),
      })),
      notes: c.notes,
    })),
    results: tgs,
    perEvent: results.map((c) => perEventFigures(c, startup)),
    notes: globalNotes,
  };
}

const ZSTD_NAME: Record<string, string> = {
  'node:zlib': "node:zlib's zstd",
  wasm: 'WebAssembly (zstddec: the reference library; node:zlib has zstd from 22.15)',
};

/** the other runtimes measured, named in the header */
function runtimesLine(results: CaptureResult[]): string {
  const rts = results[0]?.runtimes ?? [];
  return rts.length ? `; trace.dat rows also on ${rts.map((r) => r.runtime.label).join('; ')} (table per capture)` : '';
}

/**
 * The trace.dat rows side by side on every runtime / zstd path measured: times as measured
 * (start-up included, since each runtime starts up differently), and this machine's time over
 * that runtime's (above 1x: faster than this machine's node).
 */
function runtimeTable(o: Options, c: CaptureResult, startup: Measurement): string {
  if (c.runtimes.length === 0) return '';
  const keys: RuntimeKey[] = c.copies ? ['dat', 'datCopies', 'datReadCopies'] : ['dat'];
  const field = metricTime[o.metric];
  const n = c.copies?.copies;
  const title: Record<RuntimeKey, string> = { dat: 'trace.dat analyze', datCopies: `${n}x.dat analyze`, datReadCopies: `floor: read ${n}x.dat` };
  const rssKey: RuntimeKey = c.copies ? 'datCopies' : 'dat';
  const rows: string[][] = [['runtime', 'zstd', `start-up ${o.metric} s`, ...keys.map((k) => `${title[k]} ${o.metric} s`), `peak RSS (${title[rssKey]})`]];
  const base = c.measurements;
  const cell = (x: Measurement | undefined, ref: Measurement | undefined): string => {
    const t = x?.[field];
    if (x?.error !== undefined && x.samples.length === 0) return 'FAILED';
    const r = ref?.[field];
    return t === undefined ? '-' : ref === undefined || r === undefined || x === ref ? fmtS(t) : `${fmtS(t)} (${fmtX(r / t)})`;
  };
  rows.push(['node ' + (base.dat?.node ?? process.version) + ' (this machine)', base.dat?.zstd ?? '-', cell(startup, startup), ...keys.map((k) => cell(base[k], base[k])), fmtMB(base[rssKey]?.maxRss)]);
  for (const r of c.runtimes) {
    const m = r.measurements;
    const zstd = m.dat?.zstd ?? r.runtime.zstd;
    rows.push([r.runtime.label, zstd, cell(r.startup, startup), ...keys.map((k) => cell(m[k], base[k])), fmtMB(m[rssKey]?.maxRss)]);
  }
  let s = `trace.dat on each runtime (${o.metric} time as measured, start-up included; in brackets this machine's node's time over it: above 1x is faster):\n`;
  s += renderTable(rows, new Set(keys.map((_, i) => i + 3).concat([2])));
  for (const r of c.runtimes) {
    for (const x of Object.values(r.measurements)) {
      if (x.zstd !== undefined && x.zstd !== r.runtime.zstd) s += `  note: ${x.what}: the child used zstd ${x.zstd}, expected ${r.runtime.zstd}\n`;
      if (x.error) s += `  ${x.what}: failed: ${x.error}\n`;
    }
  }
  return s;
}
