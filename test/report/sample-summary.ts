// A synthetic but realistic `tlbtrace.summary/1`: 2 CPUs on 6.18 (csd/ipi vocabulary), CPU 1's
// ring buffer overwrote its oldest events, three policies with the three risk classes, and two
// hostile comms among the top mms (HTML markup, terminal control characters). Hand-made: numbers
// are internally consistent (wasted kinds sum to the total, byCpu sums to totals, the series sums
// to the totals), so renderers can be checked against them.

import { Summary } from '../../src/summary/schema.js';

export const HOSTILE_COMM = '<img src=x onerror=alert(1)>';
/** ESC [ 3 1 m ... BEL: would turn a terminal red and beep if printed raw */
export const CONTROL_COMM = 'evil\x1b[31mred\x07';

/** Deterministic PRNG so the series is the same on every run. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/** Split `total` into `n` non-negative integers with a bump in the middle of the capture. */
function spread(total: number, n: number, rnd: () => number): number[] {
  const w = Array.from({ length: n }, (_, i) => 0.5 + rnd() + (i > n * 0.4 && i < n * 0.6 ? 2 : 0));
  const sum = w.reduce((a, b) => a + b, 0);
  const out = w.map((x) => Math.floor((x / sum) * total));
  out[0]! += total - out.reduce((a, b) => a + b, 0);
  return out;
}

const BUCKETS = 50;
const BUCKET_SEC = 0.25;

function buildSeries() {
  const rnd = lcg(42);
  const requests = spread(5200, BUCKETS, rnd);
  const shoot = spread(3900, BUCKETS, rnd);
  const ipis = spread(4300, BUCKETS, rnd);
  const wasted = spread(1620, BUCKETS, rnd);
  const observed = requests.map((r, i) => ({ t: i * BUCKET_SEC, requests: r, shootdowns: shoot[i]!, ipis: ipis[i]!, wasted: wasted[i]! }));
  // CPU 1's history starts at +0.6 s (history cut): no perCpu rows before bucket 3 for it
  const cpu0 = spread(1800, BUCKETS, rnd);
  const cpu1 = spread(2100, BUCKETS - 3, rnd);
  const perCpu: { t: number; cpu: number; shootdowns: number }[] = [];
  for (let i = 0; i < BUCKETS; i++) {
    perCpu.push({ t: i * BUCKET_SEC, cpu: 0, shootdowns: cpu0[i]! });
    if (i >= 3) perCpu.push({ t: i * BUCKET_SEC, cpu: 1, shootdowns: cpu1[i - 3]! });
  }
  const policies: { t: number; policy: string; shootdowns: number; ipis: number }[] = [];
  for (const [name, sd, ip] of [
    ['p2-targeted-ipi', 2808, 3096],
    ['p1-generation', 2301, 2537],
    ['p4b-defer-running', 1092, 1204],
  ] as const) {
    const s = spread(sd, BUCKETS, rnd);
    const p = spread(ip, BUCKETS, rnd);
    for (let i = 0; i < BUCKETS; i++) policies.push({ t: i * BUCKET_SEC, policy: name, shootdowns: s[i]!, ipis: p[i]! });
  }
  return { bucketSec: BUCKET_SEC, observed, perCpu, policies };
}

const histogram = [
  { le: 1, count: 40 },
  { le: 2, count: 310 },
  { le: 5, count: 1720 },
  { le: 10, count: 1030 },
  { le: 20, count: 480 },
  { le: 50, count: 250 },
  { le: 100, count: 45 },
  { le: 200, count: 17 },
  { le: 500, count: 8 },
  { le: null, count: 0 },
];

const RAW = {
  schema: 'tlbtrace.summary/1',
  tool: { name: 'tlbtrace', version: '0.1.0' },
  input: {
    files: ['traces/native-6.18-2cpu/mt-mixed/ftrace.txt.gz'],
    format: 'ftrace',
    events: 184233,
    eventsByType: { tlb_flush: 21840, csd_queue_cpu: 4250, csd_function_entry: 9100, csd_function_exit: 9100, ipi_send_cpu: 4300, sched_switch: 64000, sys_enter_mprotect: 3100 },
    eventsByCpu: { '0': 98000, '1': 86233 },
    cpus: 2,
    declaredCpus: 2,
    firstTs: 223.5,
    lastTs: 236.0,
    durationSec: 12.5,
    tgidKnown: true,
    vocabulary: { csd: true, ipi: true, reason5: true, callFunctionVectors: true },
    lost: {
      any: true,
      entriesInBuffer: 180000,
      entriesWritten: 184233,
      perCpu: [
        { cpu: 0, events: 98000, lostEvents: 0, lostMarkers: 0, firstTs: 223.5, lastTs: 236.0, historyCut: false },
        { cpu: 1, events: 86233, lostEvents: 4233, lostMarkers: 1, firstTs: 224.1, lastTs: 235.99, historyCut: true },
      ],
      note: "CPU 1's ring buffer overwrote its oldest 4,233 events: its history starts 0.6 s after CPU 0's",
    },
    truncated: false,
    warnings: {
      total: 3,
      byCode: { 'malformed-line': 1, 'unknown-payload': 2 },
      examples: [
        { file: 'ftrace.txt.gz', line: 1043, code: 'unknown-payload', message: 'tlb_flush payload not understood: "reason=</script><script>alert(2)</script>"' },
        { file: 'ftrace.txt.gz', line: 2210, code: 'malformed-line', message: 'no [CPU] column in "  \x1b]0;pwned\x07 garbage"' },
      ],
    },
  },
  observed: {
    tlbFlush: {
      total: 21840,
      byReason: { '0': 9800, '1': 2740, '2': 60, '3': 3190, '4': 4350, '5': 1700 },
      byReasonPages: {
        '0': { full: 2100, ranged: 0, zero: 7700 },
        '1': { full: 900, ranged: 1540, zero: 300 },
        '2': { full: 60, ranged: 0, zero: 0 },
        '3': { full: 800, ranged: 2290, zero: 100 },
        '4': { full: 1900, ranged: 2450, zero: 0 },
        '5': { full: 0, ranged: 0, zero: 1700 },
      },
    },
    requests: 5200,
    requestsByKind: { remote: 4100, localOnly: 1000, batched: 100 },
    phantomRequests: 350,
    remoteShootdowns: {
      total: 3900,
      byCpu: { '0': 1800, '1': 2100 },
      exact: true,
      pairing: 'csd',
      unpairedHandlers: 0,
      unansweredTargets: 2,
      byOutcome: { ranged: 1540, full: 860, zero: 300, wrongCpu: 1100, switchToInitMm: 40, empty: 60 },
    },
    ipis: {
      total: 4300,
      tlb: 3700,
      byCpu: { '0': 2000, '1': 2300 },
      callbacksByClass: { flush_tlb_func: 3900, tlb_remove_table_smp_sync: 120, do_flush_tlb_all: 2, do_kernel_range_flush: 30, other: 400 },
    },
    wasted: {
      total: 1620,
      byKind: { remoteWrongCpu: 1100, remoteZeroPages: 300, emptyCallback: 60, lazySwitchToInitMm: 40, tableSync: 120 },
    },
    fanout: [
      { targets: 0, requests: 350 },
      { targets: 1, requests: 3750 },
    ],
    latencyUs: { count: 3900, min: 0.8, p50: 4.6, p90: 14.2, p99: 61.0, max: 431.5, mean: 7.3, histogram },
    topMms: [
      { mm: 'mm#12', comm: 'stress-ng-mprot', tgid: 5953, requests: 2100, shootdowns: 1700, ipis: 1790, wasted: 600 },
      { mm: 'mm#7', comm: HOSTILE_COMM, tgid: 6001, requests: 1200, shootdowns: 950, ipis: 1010, wasted: 420 },
      { mm: 'mm#3', comm: 'npm view @types', tgid: 5935, requests: 800, shootdowns: 610, ipis: 650, wasted: 300 },
      { mm: 'mm#19', comm: CONTROL_COMM, tgid: 6100, requests: 500, shootdowns: 390, ipis: 420, wasted: 160 },
      { mm: 'mm#2', comm: 'git', tgid: 5896, requests: 300, shootdowns: 150, ipis: 170, wasted: 90 },
      { mm: '(batch)', comm: '(reclaim batch)', tgid: -1, requests: 100, shootdowns: 70, ipis: 70, wasted: 30 },
    ],
    byCause: [
      { cause: 'mprotect', requests: 2300, shootdowns: 1800, ipis: 1900, wasted: 700 },
      { cause: 'munmap', requests: 1500, shootdowns: 1100, ipis: 1200, wasted: 480 },
      { cause: 'madvise(MADV_DONTNEED)', requests: 900, shootdowns: 660, ipis: 720, wasted: 260 },
      { cause: 'mremap', requests: 250, shootdowns: 200, ipis: 220, wasted: 120 },
      { cause: 'reclaim (kswapd0)', requests: 100, shootdowns: 70, ipis: 70, wasted: 30 },
      { cause: 'unknown', requests: 150, shootdowns: 70, ipis: 190, wasted: 30 },
    ],
  },
  model: {
    fidelity: {
      targets: 0.982,
      targetsCompared: 4100,
      targetMismatches: { extra: 40, missing: 34 },
      switchFlush: 0.994,
      switchCompared: 8000,
      note: null,
    },
    mms: 37,
    generationsAreEstimates: true,
    attribution: 'tgid',
  },
  policies: {
    'p2-targeted-ipi': {
      name: 'p2-targeted-ipi',
      title: 'P2 targeted IPI (Yang)',
      risk: 'safe',
      riskReason: 'only skips CPUs that provably do not cache the mm (should_flush_tlb)',
      requests: 5200,
      shootdowns: 2808,
      ipis: 3096,
      avoidedShootdowns: 1092,
      avoidedIpis: 1204,
      avoidedShootdownsPct: 28.0,
      avoidedIpisPct: 28.0,
      rangedToFull: 0,
      fullFlushesAdded: 0,
      deferralDelayUs: null,
      cpuTimeSavedUs: 3010.0,
      extra: { tableSyncUpperBound: 120, tableSyncLowerBound: 0, flushImpliesIpiDrops: 38 },
      notes: ['table-free sync targets are not traced: bounds reported in extra'],
      params: { trimCpumask: true },
    },
    'p1-generation': {
      name: 'p1-generation',
      title: 'P1 generation-tracked flush (Amit)',
      risk: 'arch-dependent',
      riskReason: 'upper bound: the trace does not show when PTEs changed',
      requests: 4310,
      shootdowns: 2301,
      ipis: 2537,
      avoidedShootdowns: 1599,
      avoidedIpis: 1763,
      avoidedShootdownsPct: 41.0,
      avoidedIpisPct: 41.0,
      rangedToFull: 210,
      fullFlushesAdded: 330,
      deferralDelayUs: { count: 330, min: 12, p50: 850, p90: 4100, p99: 19000, max: 88000, mean: 1500, histogram: [{ le: 1000, count: 200 }, { le: 10000, count: 120 }, { le: null, count: 10 }] },
      cpuTimeSavedUs: 3900.5,
      extra: { avoidedRequests: 890, coalesced: 145 },
      notes: ['arch_tlbbatch_flush has no mm and cannot complete generations'],
      params: {},
    },
    'p4b-defer-running': {
      name: 'p4b-defer-running',
      title: 'P4 variant B: defer running CPUs to next switch',
      risk: 'unsafe',
      riskReason: 'defers unmaps on CPUs running the mm: stale translations stay usable',
      requests: 5200,
      shootdowns: 1092,
      ipis: 1204,
      avoidedShootdowns: 2808,
      avoidedIpis: 3096,
      avoidedShootdownsPct: 72.0,
      avoidedIpisPct: 72.0,
      rangedToFull: 1540,
      fullFlushesAdded: 2400,
      deferralDelayUs: { count: 2400, min: 3, p50: 2200, p90: 9000, p99: 40000, max: 250000, mean: 4100, histogram: [{ le: 1000, count: 900 }, { le: 10000, count: 1300 }, { le: null, count: 200 }] },
      cpuTimeSavedUs: 1200.0,
      extra: { unsafeDeferrals: 1800, undecidable: null },
      notes: [],
      params: { variant: 'B' },
    },
  },
  costModel: {
    ipiRoundTripNs: 2500,
    perEntryInvalidationNs: 100,
    fullFlushRefillNs: 1500,
    sources: {
      perEntryInvalidationNs: 'arch/x86/mm/tlb.c: tlb_single_page_flush_ceiling comment (~100 ns per entry)',
      ipiRoundTripNs: 'default; override with --ipi-cost-ns',
      fullFlushRefillNs: 'default; override with --refill-cost-ns',
    },
  },
  series: buildSeries(),
  blindSpots: [
    'INVLPGB broadcast flushes and Hyper-V/Xen paravirtual flushes emit no IPI events',
    'generation increments without events (flush_tlb_mm_range with no remote CPU and the mm not loaded)',
    'lockless page-table walkers are not traced: table-sync bounds only',
    'when PTEs actually changed',
  ],
};

/** A fresh, schema-validated copy each call (tests may mutate it). */
export function sampleSummary(): Summary {
  return Summary.parse(structuredClone(RAW));
}
