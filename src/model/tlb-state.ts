// Per-CPU and per-mm TLB state, as arch/x86/mm/tlb.c keeps it (6.1 .. 6.18).
//
// Per CPU, cpu_tlbstate: loaded_mm, is_lazy, the TLB_NR_DYN_ASIDS = 6 ASID slots with the generation
// each has caught up to (ctxs[asid].tlb_gen) and the round-robin next_asid. Per mm, mm->context:
// tlb_gen (an observed lower bound: +1 per flush request we see), the completed generation (Nadav
// Amit's tlb_gen_completed), and mm_cpumask in both the 6.14+ lazy form and the older precise form.
//
// switch_mm_irqs_off() is loadMm(); the catch-up at the end of flush_tlb_func() is catchUp();
// whether a switch back to an mm must flush (its ASID is behind) is behind(). Nothing here reads
// events: the trackers that do (switches.ts, shootdowns.ts, callbacks.ts) call these.

import { INIT_MM } from './tasks.js';
import type { CpuSnapshot } from './types.js';

/** TLB_NR_DYN_ASIDS in arch/x86/include/asm/tlbflush.h */
export const TLB_NR_DYN_ASIDS = 6;

/** One CPU's cpu_tlbstate, and the task running there. */
export class CpuTlb {
  loadedMm = INIT_MM;
  /** whether loadedMm is known (false until the first switch or flush tells us) */
  loadedKnown = false;
  lazy = false;
  /**
   * The mm a sched_switch is taking this CPU to while what switch_mm did is not yet seen
   * (switches.ts), -1 otherwise. The kernel has mostly switched by then (cpu_tlbstate.loaded_mm is
   * the new mm, or LOADED_MM_SWITCHING, which should_flush_tlb() also flushes): other CPUs'
   * requests see the CPU running it, not lazy. But the sched_switch tracepoint comes before
   * context_switch(), and until switch_mm_irqs_off() clears is_lazy a CPU lazy before is still
   * skipped (qemu-6.12-16cpu/collapse at 31.616341, CPU 8): the snapshot keeps the state before
   * too (midSwitch), and target fidelity accepts either.
   */
  switchingTo = -1;
  /**
   * A sched_switch to a kernel thread made this CPU lazy, and no later event on it shows the switch
   * done. enter_lazy_tlb() sets is_lazy in context_switch(), after the tracepoint, so until then
   * another CPU's should_flush_tlb() may still have found it running its mm: the snapshot keeps the
   * state before in midSwitch (lazy after), and a flush it took is no evidence of an unfiltered one
   * (kthread-flush.ts; counterfactual-6.12-8cpu-passes/stock/reclaim-mmap at 35.377416, CPU 6).
   */
  enteringLazy = false;
  /** the task running there: the header of its last event, or the next of its last sched_switch */
  pid = -1;
  /** ASID slots: mm id (-1 unknown/empty) and the generation it caught up to */
  slotMm = new Int32Array(TLB_NR_DYN_ASIDS).fill(-1);
  slotGen = new Float64Array(TLB_NR_DYN_ASIDS);
  /** TlbState.batchedFlushes and the mm's MmTlb.batched when the slot last caught up (see behind()) */
  slotBatch = new Float64Array(TLB_NR_DYN_ASIDS);
  slotMmBatch = new Float64Array(TLB_NR_DYN_ASIDS);
  /** TlbState.clock when the slot last caught up */
  slotSyncAt = new Float64Array(TLB_NR_DYN_ASIDS);
  nextAsid = 0;
  /** slots we have seen allocated: until all 6 are known a miss is not a prediction */
  slotsKnown = 0;
}

/** One mm's mm->context.tlb_gen and mm_cpumask. */
export class MmTlb {
  gen = 0;
  completedGen = 0;
  /** generations of requests still open, in order */
  openGens: number[] = [];
  /** batched flushes of this mm alone (see TlbState.countBatch): tlb_gen bumps `gen` leaves out */
  batched = 0;
  /** TlbState.clock at the last `gen` bump */
  genAt = 0;
  lazyMask: Uint8Array;
  preciseMask: Uint8Array;
  /** should_trim_cpumask(): the next request at or after this time carries trim_cpumask (once per HZ) */
  nextTrimTs = -Infinity;
  constructor(cpus: number) {
    this.lazyMask = new Uint8Array(cpus);
    this.preciseMask = new Uint8Array(cpus);
  }
}

export class TlbState {
  readonly cpus: CpuTlb[] = [];
  private readonly mms = new Map<number, MmTlb>();

  /**
   * Flushes of mms the trace does not name, so far: `gen` (a lower bound) leaves out the tlb_gen
   * bumps they made. A batched unmap flush (arch_tlbbatch_flush()): each page the batch unmapped
   * bumped its mm's tlb_gen (arch_tlbbatch_add_pending() -> inc_mm_tlb_gen()) with no event, and
   * the batch may span any mm; a kernel thread's flush of one user mm (kcompactd or khugepaged
   * moving a page: flush_tlb_mm_range() of the page's mm, which no event names). A CPU such a
   * flush left out (lazy: should_flush_tlb() filtered it) finds the mm's tlb_gen moved on when
   * it switches back to it, and flushes in full. Counted here: those of kernel threads and of
   * direct reclaim. A user task's own batch (MADV_PAGEOUT) spans its own mm: MmTlb.batched.
   * Switch-flush fidelity on reclaim-mmap went from 54.6% to 98.4% (qemu-6.12-8cpu) and from
   * 52.7% to 97.2% (qemu-6.1-8cpu, where kcompactd's flushes are most of it).
   */
  private batchedFlushes = 0;

  /** orders generation bumps and ASID catch-ups (remap() asks which came first) */
  private clock = 0;

  /**
   * X86_FEATURE_PCID: null until the trace tells. Without PCID, choose_new_asid() takes ASID 0 and
   * flushes on every switch to another mm (need_flush = true), so reason 0 never logs pages=0 for
   * one; with PCID a switch back to a current ASID does (switches.ts learns which). The QEMU TCG
   * and PVM guests of ../shared/traces have none.
   */
  pcid: boolean | null = null;

  constructor(cpus: number) {
    this.grow(cpus);
  }

  get cpuCount(): number {
    return this.cpus.length;
  }

  /** Per-CPU state for CPUs 0 .. n-1 (the trace showed a CPU beyond what we knew). */
  grow(n: number): void {
    const old = this.cpus.length;
    if (n <= old) return;
    for (let i = old; i < n; i++) this.cpus.push(new CpuTlb());
    if (old === 0) return;
    for (const mm of this.mms.values()) {
      const a = new Uint8Array(n);
      a.set(mm.lazyMask);
      mm.lazyMask = a;
      const b = new Uint8Array(n);
      b.set(mm.preciseMask);
      mm.preciseMask = b;
    }
  }

  mm(id: number): MmTlb {
    // a storm asks for one mm many times per event: the last one is kept
    if (id === this.lastId) return this.lastMm!;
    let m = this.mms.get(id);
    if (m === undefined) {
      m = new MmTlb(this.cpus.length);
      this.mms.set(id, m);
    }
    this.lastId = id;
    this.lastMm = m;
    return m;
  }
  private lastId = -1;
  private lastMm: MmTlb | null = null;

  hasMm(id: number): boolean {
    return this.mms.has(id);
  }

  /** Forget a dead mm's state, unless a request of it is still open. */
  forgetMm(id: number): void {
    const m = this.mms.get(id);
    if (m !== undefined && m.openGens.length === 0) {
      this.mms.delete(id);
      if (id === this.lastId) this.lastId = -1;
    }
  }

  isLoadedAnywhere(mm: number): boolean {
    return this.cpus.some((c) => c.loadedMm === mm);
  }

  // ------------------------------------------------------------------ generations (tlb_gen)

  /** inc_mm_tlb_gen() for a request of `m` that stays open until closeGen() (flush_tlb_mm_range()) */
  openGen(m: MmTlb): number {
    const gen = this.bumpGen(m);
    m.openGens.push(gen);
    return gen;
  }

  /** inc_mm_tlb_gen() */
  bumpGen(m: MmTlb): number {
    const gen = ++m.gen;
    m.genAt = ++this.clock;
    return gen;
  }

  /** A request's generation is done: completedGen is the largest g with every request <= g finished. */
  closeGen(m: MmTlb, gen: number): void {
    removeItem(m.openGens, gen);
    this.settleCompleted(m);
  }

  /** completedGen after the newest request closed with nothing else open (a direct local flush) */
  settleCompleted(m: MmTlb): void {
    m.completedGen = m.openGens.length > 0 ? m.openGens[0]! - 1 : m.gen;
  }

  /** A request first counted as of mm `id` turned out to be a batch: undo its generation bump. */
  retractGen(id: number, gen: number): void {
    const m = this.mm(id);
    removeItem(m.openGens, gen);
    if (m.gen === gen) m.gen--;
  }

  /** a flush whose tlb_gen bumps `gen` does not count: of the initiator's own mm (`mm`), or of any mm (0) */
  countBatch(mm: number): void {
    if (mm === 0) this.batchedFlushes++;
    else this.mm(mm).batched++;
  }

  // ------------------------------------------------------------------ ASIDs and switch_mm

  /**
   * switch_mm_irqs_off() to `mm` on this CPU: cpumask bookkeeping and ASID choice. `pages` is the
   * observed reason-0 flush (-1 the new ASID slot was flushed, 0 it was current).
   */
  loadMm(cpu: number, mm: number, pages: number, observed = true): void {
    const c = this.cpus[cpu]!;
    const prev = c.loadedMm;
    if (prev !== mm && prev !== INIT_MM && this.mms.has(prev)) {
      // pre-6.14: "Stop remote flushes for the previous mm"; 6.14+ leaves the bit (lazyMask)
      this.mm(prev).preciseMask[cpu] = 0;
    }
    if (mm !== INIT_MM) {
      const m = this.mm(mm);
      m.lazyMask[cpu] = 1;
      m.preciseMask[cpu] = 1;
    }
    c.loadedMm = mm;
    c.loadedKnown = true;
    c.lazy = false;
    // ASID slot: reuse the mm's slot, or take next_asid round-robin
    let slot = slotOf(c, mm);
    if (slot < 0) {
      slot = c.nextAsid;
      c.nextAsid = (c.nextAsid + 1) % TLB_NR_DYN_ASIDS;
      if (c.slotMm[slot] === -1) c.slotsKnown++;
      c.slotMm[slot] = mm;
      c.slotGen[slot] = -1;
    }
    if (observed && (pages !== 0 || mm === INIT_MM)) c.slotGen[slot] = mm === INIT_MM ? 0 : this.mm(mm).gen;
    else if (observed) c.slotGen[slot] = Math.max(c.slotGen[slot]!, mm === INIT_MM ? 0 : this.mm(mm).gen);
    // either way the kernel's own tlb_gen was reached: a full flush, or the slot was current
    if (observed) this.syncBatch(c, slot, mm);
  }

  /** The CPU's ASID for `mm` has caught up with the mm's generation. */
  catchUp(c: CpuTlb, mm: number): void {
    if (mm === INIT_MM) return;
    const slot = slotOf(c, mm);
    if (slot >= 0) {
      c.slotGen[slot] = this.mm(mm).gen;
      this.syncBatch(c, slot, mm);
    }
  }

  /** ASID `slot` of CPU `c` caught up with the kernel's tlb_gen of `mm` */
  private syncBatch(c: CpuTlb, slot: number, mm: number): void {
    c.slotSyncAt[slot] = ++this.clock;
    c.slotBatch[slot] = this.batchedFlushes;
    c.slotMmBatch[slot] = mm === INIT_MM ? 0 : this.mm(mm).batched;
  }

  /** whether the CPU's ASID `slot` is behind its mm `mm`: switch_mm will flush it */
  behind(c: CpuTlb, slot: number, mm: number): boolean {
    const m = this.mm(mm);
    return c.slotGen[slot]! < m.gen || c.slotBatch[slot]! < this.batchedFlushes || c.slotMmBatch[slot]! < m.batched;
  }

  /** The state of every CPU as a request of `mm` (0: none) sees it, for the policies. */
  snapshot(mm: number): CpuSnapshot {
    const n = this.cpus.length;
    const s: CpuSnapshot = {
      loadedMm: new Int32Array(n),
      known: new Uint8Array(n),
      lazy: new Uint8Array(n),
      lazyMask: new Uint8Array(n),
      preciseMask: new Uint8Array(n),
      localGen: new Float64Array(n).fill(-1),
    };
    const m = mm !== 0 ? this.mm(mm) : null;
    for (let i = 0; i < n; i++) {
      const c = this.cpus[i]!;
      const switching = c.switchingTo >= 0;
      if (switching) (s.midSwitch ??= []).push({ cpu: i, loadedMm: c.loadedMm, lazy: c.lazy });
      else if (c.enteringLazy) (s.midSwitch ??= []).push({ cpu: i, loadedMm: c.loadedMm, lazy: false });
      s.loadedMm[i] = switching ? c.switchingTo : c.loadedMm;
      s.known[i] = c.loadedKnown ? 1 : 0;
      s.lazy[i] = c.lazy && !switching ? 1 : 0;
      if (m !== null) {
        s.lazyMask[i] = m.lazyMask[i]!;
        s.preciseMask[i] = m.preciseMask[i]!;
        const slot = slotOf(c, mm);
        if (slot >= 0) s.localGen[i] = c.slotGen[slot]!;
      }
    }
    return s;
  }

  /** pids proven to share an mm: move the state kept under the merged-away id `drop` to `keep`. */
  remap(drop: number, keep: number): void {
    const d = this.mms.get(drop);
    const k = this.mm(keep);
    const kGenAt = k.genAt;
    if (d !== undefined) {
      for (let i = 0; i < this.cpus.length; i++) {
        if (d.lazyMask[i]) k.lazyMask[i] = 1;
        if (d.preciseMask[i]) k.preciseMask[i] = 1;
      }
      k.gen = Math.max(k.gen, d.gen);
      k.completedGen = Math.max(k.completedGen, d.completedGen);
      k.batched = Math.max(k.batched, d.batched);
      k.genAt = Math.max(k.genAt, d.genAt);
      this.mms.delete(drop);
      if (drop === this.lastId) this.lastId = -1;
    }
    for (const c of this.cpus) {
      if (c.loadedMm === drop) c.loadedMm = keep;
      if (c.switchingTo === drop) c.switchingTo = keep;
      for (let s = 0; s < TLB_NR_DYN_ASIDS; s++) {
        if (c.slotMm[s] !== drop) continue;
        c.slotMm[s] = keep;
        // The CPU loaded the one real mm under the provisional id (a new thread switched in
        // before its first event gave its tgid): an ASID current for `drop`, caught up after
        // the last request of `keep`, was current for `keep` too. Without this the merge left
        // it behind by all of `keep`'s earlier requests: on qemu-6.12-8cpu/reclaim-mmap's raw
        // ftrace, 291 lazy returns to reclaim-mmap predicted to flush that did not.
        if (d !== undefined && c.slotGen[s]! >= d.gen && c.slotSyncAt[s]! > kGenAt) c.slotGen[s] = k.gen;
      }
    }
  }
}

/** Shared by requests that target no other CPU (direct local flushes: most requests in fork-heavy traces). */
export const EMPTY_SNAPSHOT: CpuSnapshot = Object.freeze({
  loadedMm: new Int32Array(0),
  known: new Uint8Array(0),
  lazy: new Uint8Array(0),
  lazyMask: new Uint8Array(0),
  preciseMask: new Uint8Array(0),
  localGen: new Float64Array(0),
});

export function slotOf(c: CpuTlb, mm: number): number {
  for (let s = 0; s < TLB_NR_DYN_ASIDS; s++) if (c.slotMm[s] === mm) return s;
  return -1;
}

/**
 * Remove the first occurrence of `x`. Requests mostly close in the order they open, the newest
 * (a direct local flush opens and closes on one event) or the oldest: those take no splice.
 */
export function removeItem<T>(list: T[], x: T): void {
  const i = list.indexOf(x);
  if (i < 0) return;
  if (i === list.length - 1) list.pop();
  else if (i === 0) list.shift();
  else list.splice(i, 1);
}
