// Observed accounting: every flush, shootdown and IPI that really happened, as the model classifies
// them. Produces the `observed` and `model` sections of the summary and the observed time series.

import type { TlbFlushEvent } from '../events/types.js';
import type { Mechanism, ModelSection, ObservedSection } from '../summary/schema.js';
import type { Delivery } from './delivery.js';
import { DistributionBuilder } from './distribution.js';
import { TimeSeries } from './series.js';
import type { CallbackClass, FlushRequest, ObservedSink, TargetOutcome, TargetRecord } from './types.js';

export const SERIES_KEYS = ['requests', 'shootdowns', 'ipis', 'wasted'] as const;
export type SeriesKey = (typeof SERIES_KEYS)[number];

const WASTED_OUTCOMES: Partial<Record<TargetOutcome, keyof ObservedSection['wasted']['byKind']>> = {
  wrongCpu: 'remoteWrongCpu',
  zero: 'remoteZeroPages',
  empty: 'emptyCallback',
  switchToInitMm: 'lazySwitchToInitMm',
};

interface Row {
  label?: { mm: string; comm: string; tgid: number };
  requests: number;
  shootdowns: number;
  ipis: number;
  wasted: number;
}

function addTo(row: Row, requests: number, shootdowns: number, ipis: number, wasted: number): void {
  row.requests += requests;
  row.shootdowns += shootdowns;
  row.ipis += ipis;
  row.wasted += wasted;
}

const TOP_N = 20;
const score = (r: Row) => r.shootdowns + r.requests;
/** bound on distinct mms kept for the top-N table (fork storms make many) */
const MAX_MM_ROWS = 50_000;

export class ObservedAccounting implements ObservedSink {
  readonly series = new TimeSeries<SeriesKey>(SERIES_KEYS);
  private byReason = [0, 0, 0, 0, 0, 0];
  /** pages by reason: 0-5 in `reasonPages` (every tlb_flush adds to one), any other in the map */
  private reasonPages = [0, 1, 2, 3, 4, 5].map(() => ({ full: 0, ranged: 0, zero: 0 }));
  private byReasonPages = new Map<number, { full: number; ranged: number; zero: number }>();
  private otherReasons = 0;
  private requestsByKind = { remote: 0, localOnly: 0, batched: 0 };
  private phantom = 0;
  private remoteByCpu = new Map<number, number>();
  private byOutcome = new Map<string, number>();
  private unpairedHandlers = 0;
  private ipiTotal = 0;
  private ipiTlb = 0;
  private ipiByCpu = new Map<number, number>();
  private vectorEntries = 0;
  /** vector entries that ran a flush callback: the TLB IPIs of a kernel without ipi_send_* */
  private vectorFlushEntries = 0;
  private vectorByCpu = new Map<number, number>();
  private callbacksByClass = new Map<string, number>();
  private wasted = { remoteWrongCpu: 0, remoteZeroPages: 0, emptyCallback: 0, lazySwitchToInitMm: 0, tableSync: 0 };
  private fanout = new Map<number, number>();
  private latency = new DistributionBuilder();
  private mmRows = new Map<number, Row>();
  private causeRows = new Map<string, Row>();
  private fidTargets = { lazy: { match: 0, n: 0 }, precise: { match: 0, n: 0 } };
  private fidMismatch = { lazy: new Map<string, number>(), precise: new Map<string, number>() };
  private fidSwitch = { match: 0, n: 0 };
  private fidSwitchMismatch = new Map<string, number>();
  private fidSkipped = new Map<string, number>();
  /** target fidelity of requests that queued no target though CPUs needed them (see fidelity()) */
  private fidNoIpi = { lazy: { match: 0, n: 0 }, precise: { match: 0, n: 0 } };
  private fidNoIpiMismatch = { lazy: new Map<string, number>(), precise: new Map<string, number>() };
  /** remote mm requests by delivery (delivery.ts) */
  private delivery = { ipi: 0, partial: 0, noIpi: 0, filtered: 0, unknown: 0 };
  /** requests that flushed other CPUs by IPI callback, and those CPUs */
  private ipiFlushRequests = 0;
  private ipiFlushCpus = 0;
  /** requests that queued no target though CPUs needed them, and the CPUs should_flush_tlb() picks */
  private noIpiCpus = 0;
  /** of the phantom requests, those that needed other CPUs (flushed by hypercall, if the machine does) */
  private phantomNoIpi = 0;

  onRequest(req: FlushRequest): void {
    if (req.kind === 'tableSync') return;
    this.series.add('observed', 'requests', req.ts);
  }

  onRequestClosed(req: FlushRequest): void {
    if (req.kind === 'tableSync') {
      this.addRow(req, 0);
      return;
    }
    const kind = req.kind;
    if (kind === 'localOnly') this.requestsByKind.localOnly++;
    else if (kind === 'remote') this.requestsByKind.remote++;
    else this.requestsByKind.batched++;
    // callbacks run by IPI (a hypervisor's flush ran none)
    let n = 0;
    for (const t of req.targets) if (t.outcome !== 'hypercall') n++;
    if (req.kind === 'remote') {
      this.fanout.set(n, (this.fanout.get(n) ?? 0) + 1);
      if (n === 0) {
        this.phantom++; // every target filtered by should_flush_tlb()
        if (req.delivery === 'noIpi') this.phantomNoIpi++;
      }
    }
    let flushed = 0;
    for (const t of req.targets) if (t.outcome !== 'hypercall' && t.outcome !== 'unanswered') flushed++;
    if (flushed > 0) {
      this.ipiFlushRequests++;
      this.ipiFlushCpus += flushed;
    }
    this.addRow(req, 1);
  }

  onDelivery(_req: FlushRequest, delivery: Delivery, needed: number): void {
    this.delivery[delivery]++;
    if (delivery === 'noIpi') this.noIpiCpus += needed;
  }

  /**
   * How this kernel flushed other CPUs (delivery.ts): 'hypercall' when requests needed other CPUs
   * and not one ever got a callback; 'unknown' without csd events (before 6.5 a target that did
   * nothing leaves no event, so a missing callback proves nothing).
   */
  mechanismKind(csd: boolean): Mechanism['kind'] {
    if (!csd) return 'unknown';
    const d = this.delivery;
    if (d.ipi + d.partial > 0 || this.ipiFlushRequests > 0) return 'ipi';
    return d.noIpi > 0 ? 'hypercall' : 'none';
  }

  mechanism(csd: boolean): Mechanism {
    const kind = this.mechanismKind(csd);
    const d = this.delivery;
    const hypercall = kind === 'hypercall';
    const requests = hypercall ? d.noIpi : this.ipiFlushRequests;
    const cpus = hypercall ? this.noIpiCpus : this.ipiFlushCpus;
    let note: string;
    switch (kind) {
      case 'hypercall':
        note = `this kernel flushed remote TLBs by hypercall: no flush IPIs to count; ${requests} remote flush requests reached the hypervisor, for ${cpus} CPUs (those should_flush_tlb() picks: which vCPUs the hypervisor flushed is not traced)`;
        break;
      case 'ipi':
        note = `remote TLBs flushed by IPI: ${requests} requests ran flush callbacks on ${cpus} other CPUs`;
        if (d.partial > 0) note += `; ${d.partial} requests IPI'd only part of the CPUs should_flush_tlb() picks (a KVM guest with PV TLB flush skips preempted vCPUs so, kvm_flush_tlb_multi() marking them to flush at their next VM entry; a model misprediction looks the same)`;
        if (d.noIpi > 0) note += `; ${d.noIpi} queued no target although should_flush_tlb() picks some (mispredictions, or all of their targets preempted)`;
        break;
      case 'none':
        note = 'no flush request needed another CPU';
        break;
      default:
        note = 'no csd events (kernel before 6.5): how remote flushes reached other CPUs cannot be told from the trace';
    }
    return { kind, requests: { ...d }, remoteFlushRequests: requests, cpusFlushed: cpus, note };
  }

  private addRow(req: FlushRequest, requests: number): void {
    let shootdowns = 0;
    let wasted = 0;
    for (const t of req.targets) {
      if (t.outcome === 'unanswered' || t.outcome === 'hypercall') continue;
      shootdowns++;
      if (t.outcome in WASTED_OUTCOMES || t.outcome === 'tableSync') wasted++;
    }
    // a storm's requests are of one mm and one cause: the last rows looked up are kept
    const mm = req.mm;
    if (mm !== 0) {
      let r = mm === this.lastMm ? this.lastMmRow : this.mmRows.get(mm);
      if (r === undefined) {
        if (this.mmRows.size >= MAX_MM_ROWS) this.pruneMmRows();
        r = { requests: 0, shootdowns: 0, ipis: 0, wasted: 0 };
        this.mmRows.set(mm, r);
      }
      this.lastMm = mm;
      this.lastMmRow = r;
      // the name is taken while the mm is alive (the model forgets dead mms)
      if (this.mmLabel) r.label = this.mmLabel(mm);
      addTo(r, requests, shootdowns, req.ipis, wasted);
    }
    const cause = req.cause;
    let cr = cause === this.lastCause ? this.lastCauseRow : this.causeRows.get(cause);
    if (cr === undefined) {
      cr = { requests: 0, shootdowns: 0, ipis: 0, wasted: 0 };
      this.causeRows.set(cause, cr);
    }
    this.lastCause = cause;
    this.lastCauseRow = cr;
    addTo(cr, requests, shootdowns, req.ipis, wasted);
  }

  private lastMm = -1;
  private lastMmRow: Row | undefined = undefined;
  private lastCause: string | null = null;
  private lastCauseRow: Row | undefined = undefined;

  /** set by the pipeline: names an mm while the model still knows it */
  mmLabel: ((mm: number) => { mm: string; comm: string; tgid: number }) | null = null;

  /** Keep the busiest rows when there are too many mms (fork storms): bounded memory. */
  private pruneMmRows(): void {
    const keep = [...this.mmRows.entries()].sort((a, b) => score(b[1]) - score(a[1])).slice(0, MAX_MM_ROWS / 5);
    this.mmRows = new Map(keep);
    this.mmRowsPruned = true;
    this.lastMm = -1;
  }
  private mmRowsPruned = false;

  onRemoteCallback(cpu: number, cls: CallbackClass, ts: number): void {
    this.callbacksByClass.set(cls, (this.callbacksByClass.get(cls) ?? 0) + 1);
    if (cls === 'flush_tlb_func') {
      this.remoteByCpu.set(cpu, (this.remoteByCpu.get(cpu) ?? 0) + 1);
      this.series.add('observed', 'shootdowns', ts);
      this.series.add(`cpu${cpu}`, 'shootdowns', ts);
    } else if (cls === 'tlb_remove_table_smp_sync') {
      this.wasted.tableSync++;
      this.series.add('observed', 'wasted', ts);
    }
  }

  onTargetDone(req: FlushRequest | null, t: TargetRecord, ts: number): void {
    if (t.outcome === 'tableSync') return;
    this.byOutcome.set(t.outcome, (this.byOutcome.get(t.outcome) ?? 0) + 1);
    const w = WASTED_OUTCOMES[t.outcome];
    if (w !== undefined) {
      this.wasted[w]++;
      this.series.add('observed', 'wasted', ts);
    }
    if (req !== null && t.handlerTs !== null) this.latency.add((t.handlerTs - req.ts) / 1000);
  }

  onRemoteWithoutCsd(cpu: number, _outcome: TargetOutcome, ts: number, ipi: boolean): void {
    if (ipi) {
      this.vectorFlushEntries++;
      this.series.add('observed', 'ipis', ts);
    }
    this.remoteByCpu.set(cpu, (this.remoteByCpu.get(cpu) ?? 0) + 1);
    this.series.add('observed', 'shootdowns', ts);
    this.series.add(`cpu${cpu}`, 'shootdowns', ts);
  }

  onIpi(ts: number, _fromCpu: number, targets: readonly number[], tlb: boolean): void {
    this.ipiTotal += targets.length;
    if (tlb) this.ipiTlb += targets.length;
    for (const t of targets) this.ipiByCpu.set(t, (this.ipiByCpu.get(t) ?? 0) + 1);
    this.series.add('observed', 'ipis', ts, targets.length);
  }

  onVectorEntry(cpu: number, _ts: number): void {
    this.vectorEntries++;
    this.vectorByCpu.set(cpu, (this.vectorByCpu.get(cpu) ?? 0) + 1);
  }

  onTlbFlush(e: TlbFlushEvent, _remote: boolean): void {
    const reason = e.reason;
    let p: { full: number; ranged: number; zero: number } | undefined;
    if (reason >= 0 && reason <= 5) {
      this.byReason[reason]!++;
      p = this.reasonPages[reason]!;
    } else {
      this.otherReasons++;
      p = this.byReasonPages.get(reason);
      if (p === undefined) {
        p = { full: 0, ranged: 0, zero: 0 };
        this.byReasonPages.set(reason, p);
      }
    }
    if (e.pages < 0) p.full++;
    else if (e.pages === 0) p.zero++;
    else p.ranged++;
  }

  onUnpairedHandler(_cpu: number, _cls: CallbackClass): void {
    this.unpairedHandlers++;
  }

  onFidelityTargets(match: boolean, variant: 'lazy' | 'precise', kind: string, noIpi: boolean): void {
    const f = (noIpi ? this.fidNoIpi : this.fidTargets)[variant];
    const mismatches = (noIpi ? this.fidNoIpiMismatch : this.fidMismatch)[variant];
    f.n++;
    if (match) f.match++;
    else mismatches.set(kind, (mismatches.get(kind) ?? 0) + 1);
  }

  onFidelitySwitch(match: boolean, kind: string): void {
    this.fidSwitch.n++;
    if (match) this.fidSwitch.match++;
    else this.fidSwitchMismatch.set(kind, (this.fidSwitchMismatch.get(kind) ?? 0) + 1);
  }

  onFidelitySkipped(why: string): void {
    this.fidSkipped.set(why, (this.fidSkipped.get(why) ?? 0) + 1);
  }

  /** Build the observed section. `vocab` decides exactness and the pairing method. */
  observedSection(
    cpus: number,
    vocab: { csd: boolean; ipi: boolean; vectors: boolean },
    unanswered: number,
    mmLabel: (mm: number) => { mm: string; comm: string; tgid: number },
  ): ObservedSection {
    const label = (mm: number, r: Row) => r.label ?? mmLabel(mm);
    const byCpu = (m: Map<number, number>) => {
      const o: Record<string, number> = {};
      for (let i = 0; i < cpus; i++) o[String(i)] = m.get(i) ?? 0;
      return o;
    };
    const byReason: Record<string, number> = {};
    for (let r = 0; r <= 5; r++) byReason[String(r)] = this.byReason[r]!;
    const byReasonPages: Record<string, { full: number; ranged: number; zero: number }> = {};
    for (let r = 0; r <= 5; r++) byReasonPages[String(r)] = this.reasonPages[r]!;
    const remoteTotal = [...this.remoteByCpu.values()].reduce((a, b) => a + b, 0);
    const wastedTotal = Object.values(this.wasted).reduce((a, b) => a + b, 0);
    // Without ipi_send_* (before 6.4) the IPIs a CPU took are its call_function*_entry vectors, and
    // its TLB IPIs those that ran a flush callback (callbacks.ts withoutCsd()).
    const ipiFromVectors = !vocab.ipi && vocab.vectors;
    const rows = (m: Map<string, Row> | Map<number, Row>) => [...m.entries()].sort((a, b) => score(b[1]) - score(a[1]));
    return {
      tlbFlush: { total: this.byReason.reduce((a, b) => a + b, 0) + this.otherReasons, byReason, byReasonPages },
      requests: this.requestsByKind.remote + this.requestsByKind.localOnly + this.requestsByKind.batched,
      requestsByKind: { ...this.requestsByKind },
      phantomRequests: vocab.csd ? this.phantom - (this.mechanismKind(vocab.csd) === 'hypercall' ? this.phantomNoIpi : 0) : 0,
      remoteShootdowns: {
        total: remoteTotal,
        byCpu: byCpu(this.remoteByCpu),
        exact: vocab.csd,
        pairing: vocab.csd ? 'csd' : vocab.vectors ? 'vector' : 'window',
        unpairedHandlers: this.unpairedHandlers,
        unansweredTargets: unanswered,
        byOutcome: Object.fromEntries([...this.byOutcome.entries()].sort()),
      },
      ipis: {
        total: ipiFromVectors ? this.vectorEntries : this.ipiTotal,
        tlb: ipiFromVectors ? this.vectorFlushEntries : this.ipiTlb,
        byCpu: byCpu(ipiFromVectors ? this.vectorByCpu : this.ipiByCpu),
        ...(vocab.vectors ? { vectorsByCpu: byCpu(this.vectorByCpu) } : {}),
        callbacksByClass: Object.fromEntries([...this.callbacksByClass.entries()].sort()),
      },
      wasted: { total: wastedTotal, byKind: { ...this.wasted } },
      fanout: [...this.fanout.entries()].sort((a, b) => a[0] - b[0]).map(([targets, requests]) => ({ targets, requests })),
      latencyUs: this.latency.toJSON(),
      topMms: (rows(this.mmRows) as Array<[number, Row]>).slice(0, TOP_N).map(([mm, r]) => ({ ...label(mm, r), requests: r.requests, shootdowns: r.shootdowns, ipis: r.ipis, wasted: r.wasted })),
      byCause: (rows(this.causeRows) as Array<[string, Row]>).map(([cause, r]) => ({ cause, ...r })),
      mechanism: this.mechanism(vocab.csd),
    };
  }

  /**
   * `hypercall`: the machine flushes other CPUs by hypercall, so a request that queued no target is
   * not a misprediction; those are left out (targetsSkipped.flushedWithoutIpi).
   */
  fidelity(lazyCpumask: boolean, hypercall = false): ModelSection['fidelity'] {
    const variant = lazyCpumask ? 'lazy' : 'precise';
    const f = { ...this.fidTargets[variant] };
    const mismatches = new Map(this.fidMismatch[variant]);
    const skipped = new Map(this.fidSkipped);
    const noIpi = this.fidNoIpi[variant];
    if (hypercall) {
      if (noIpi.n > 0) skipped.set('flushedWithoutIpi', noIpi.n);
    } else {
      f.n += noIpi.n;
      f.match += noIpi.match;
      for (const [k, v] of this.fidNoIpiMismatch[variant]) mismatches.set(k, (mismatches.get(k) ?? 0) + v);
    }
    const ratio = (m: number, n: number) => (n > 0 ? Math.round((m / n) * 10000) / 10000 : null);
    // a trace without tlb_flush events (only sched_switch, say) shows nothing switch_mm did:
    // every prediction would count as a miss
    const sawFlushes = this.byReason.some((n) => n > 0) || this.otherReasons > 0;
    const sw = sawFlushes ? this.fidSwitch : { match: 0, n: 0 };
    return {
      targets: ratio(f.match, f.n),
      targetsCompared: f.n,
      targetMismatches: Object.fromEntries([...mismatches.entries()].sort()),
      switchFlush: ratio(sw.match, sw.n),
      switchCompared: sw.n,
      switchMismatches: sawFlushes ? Object.fromEntries([...this.fidSwitchMismatch.entries()].sort()) : {},
      targetsSkipped: Object.fromEntries([...skipped.entries()].sort()),
      note: `mm_cpumask modelled with ${lazyCpumask ? '6.14+ lazy semantics (reason 5 seen)' : 'pre-6.14 semantics (cleared on switch-away)'}; a request matches when the queued targets equal the should_flush_tlb() set, the unfiltered mask (freed page tables) or the trim set${hypercall ? '; requests flushed by hypercall queue no targets and are not compared' : ''}`,
    };
  }
}
