// One `tlbtrace record`, start to finish:
//   checks      root, the output directory (new or empty), the command (found on PATH)
//   setup       tracefs (mounted if it was not), our own instance (tracefs.ts), its buffer size,
//               options/record-tgid, the events the kernel has (plan.ts), one spool per CPU
//   recording   counters read, tracing on, the command run (or a duration, or until Ctrl-C);
//               every 50 ms each CPU's ring buffer is drained into its spool (spool.ts), every
//               second the pid -> comm/tgid caches are merged (tasks.ts)
//   stop        tracing off, counters and ring-buffer stats read, the rest drained, and the
//               machine restored: instance removed, tracefs unmounted if we mounted it
//   write       trace.dat (tracedat.ts), saved_tgids and capture.json (capture.ts)
//
// Restoring is synchronous and runs exactly once: on the normal path, on any error, on the
// process 'exit' hook (someone called process.exit), and it is what a signal leads to. SIGINT,
// SIGTERM and SIGHUP stop the recording: with a command, the signal is passed to it (SIGINT after
// 300 ms, since a terminal's Ctrl-C reaches the command by itself) and the recording ends when it
// exits; a second signal kills the command. The capture of what was recorded is written either way.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VERSION } from '../cli/version.js';
import { parseHeaderPage } from '../ingest/tracedat/format.js';
import { CAPTURE_FILE, CAPTURE_SCHEMA, TGIDS_FILE, type CaptureFile } from './capture.js';
import { Command, resolveCommand, shellQuote } from './child.js';
import { deltaPerCpu, deltaRecord, lostOf, parseInterrupts, parseRingStats, parseVmstatTlb, type RingStats } from './counters.js';
import { RecordError } from './errors.js';
import { describeMachine, type MachineInfo } from './machine.js';
import { missingByCost, parseAvailableEvents, planEvents, type EventPlan, type MissingEvent } from './plan.js';
import { Spools } from './spool.js';
import { TaskNames } from './tasks.js';
import { writeTraceDat } from './tracedat.js';
import { Instance, instanceName, staleInstances, Tracefs } from './tracefs.js';

export const TRACE_FILE = 'trace.dat';
const DRAIN_MS = 50;
const NAMES_MS = 1000;
const PROGRESS_MS = 500;
/** how long a command gets to act on a terminal's Ctrl-C before we pass SIGINT on ourselves */
const SIGINT_GRACE_MS = 300;

export interface RecordProgress {
  elapsedSec: number;
  /** events the ring buffers took so far */
  events: number;
  lost: number;
}

export interface RecordOptions {
  outDir: string;
  /** the command and its arguments, or null (a duration, or until a signal) */
  argv: string[] | null;
  durationMs: number | null;
  /** per-CPU ring buffer size; default: defaultBufferKb() */
  bufferKbPerCpu?: number;
  /** stderr lines: what is recorded, what is missing, what could not be restored */
  log: (line: string) => void;
  onProgress?: (p: RecordProgress) => void;
}

export interface RecordResult {
  /** what `tlbtrace record` exits with: the command's code, else 0 */
  exitCode: number;
  capture: CaptureFile;
  traceBytes: number;
}

type StopReason = CaptureFile['stoppedBy'];
const IRQ_LINES = ['TLB', 'CAL'];

/** what setUp() prepared */
interface Setup {
  fs: Tracefs;
  inst: Instance;
  plan: EventPlan;
  cpus: number[];
  pageSize: number;
  bufferKb: number;
  enabled: string[];
  missing: MissingEvent[];
  formats: { headerPage: string; headerEvent: string; ftrace: string[]; events: Map<string, string[]> };
}

/** what the recording window yielded, read before the instance goes */
interface Recorded {
  stoppedBy: StopReason;
  startedAt: string;
  durationSec: number;
  recorderCpuSec: { user: number; system: number };
  tlb: number[] | null;
  cal: number[] | null;
  vmstat: Record<string, number>;
  statsText: string[];
  stats: RingStats[];
  printkFormats: Buffer;
  traceClock: string;
}
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * Per-CPU buffer: 8 MiB (about 200,000 events, over 100 ms of the busiest storm in ../shared/traces
 * per CPU, while the drain runs every 50 ms), less when that would take more than 1/16 of the
 * available memory, never under 1 MiB.
 */
export function defaultBufferKb(cpus: number, memAvailableKb: number | null): number {
  const cap = memAvailableKb === null ? 8192 : Math.floor(memAvailableKb / 16 / Math.max(1, cpus));
  return Math.max(1024, Math.min(8192, cap));
}

function memAvailableKb(): number | null {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) : null;
}

/** A new directory, or an empty one; never a directory holding someone's data. Returns whether we made it. */
function prepareOutDir(dir: string): boolean {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new RecordError(`${dir} exists and is not a directory`);
    if (readdirSync(dir).length > 0) throw new RecordError(`${dir} is not empty: tlbtrace record writes a new capture directory and never overwrites one; choose another`);
    return false;
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new RecordError(`cannot create ${dir}: ${(err as Error).message}`);
  }
  return true;
}

export async function record(opts: RecordOptions): Promise<RecordResult> {
  if (process.getuid?.() !== 0) throw new RecordError('record needs root: tracefs is root-only (run it with sudo)');
  const executable = opts.argv !== null ? resolveCommand(opts.argv[0]!) : null;
  const createdDir = prepareOutDir(opts.outDir);
  return new Session(opts, executable, createdDir).run();
}

class Session {
  private fs: Tracefs | null = null;
  private inst: Instance | null = null;
  private spools: Spools | null = null;
  private readonly names = new TaskNames();
  private command: Command | null = null;
  private phase: 'setup' | 'recording' | 'finishing' = 'setup';
  private restored = false;
  private signalled: StopSignal | null = null;
  private failure: Error | null = null;
  private stop: (reason: StopReason) => void = () => undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly onSignal = (sig: StopSignal): void => this.handleSignal(sig);
  private readonly onExit = (): void => this.restore();

  constructor(
    private readonly opts: RecordOptions,
    private readonly executable: string | null,
    private readonly createdDir: boolean,
  ) {}

  async run(): Promise<RecordResult> {
    for (const sig of STOP_SIGNALS) process.on(sig, this.onSignal);
    process.once('exit', this.onExit);
    try {
      return await this.record();
    } finally {
      this.restore();
      for (const sig of STOP_SIGNALS) process.off(sig, this.onSignal);
      process.off('exit', this.onExit);
    }
  }

  private async record(): Promise<RecordResult> {
    const machine = describeMachine();
    let setup: Setup;
    try {
      setup = this.setUp();
    } catch (err) {
      this.restore();
      this.removeOutput();
      throw err;
    }
    const { inst, cpus, bufferKb, enabled, missing } = setup;
    const fmtMissing = missing.length ? `; missing: ${missing.map((m) => m.event).join(', ')}` : '';
    this.opts.log(`tlbtrace: recording ${enabled.length} events on ${cpus.length} CPUs into ${this.opts.outDir} (tracefs instance ${inst.name}, ${bufferKb} KiB per CPU)${fmtMissing}`);
    for (const m of missingByCost(missing)) this.opts.log(`tlbtrace:   without ${m.events.join(', ')}: ${m.cost}`);
    const recorded = await this.recordUntilStopped(setup);
    this.restore();
    this.phase = 'finishing';
    if (this.failure !== null) throw this.failure;
    return this.writeCapture(machine, setup, recorded);
  }

  /**
   * Counters read, tracing on, the command run; the buffers drained until something stops the
   * recording; then tracing off and everything the capture needs from tracefs read, while the
   * instance still exists.
   */
  private async recordUntilStopped({ fs, inst, cpus }: Setup): Promise<Recorded> {
    const irqBefore = parseInterrupts(readFileSync('/proc/interrupts', 'utf8'), IRQ_LINES);
    const vmBefore = parseVmstatTlb(readFileSync('/proc/vmstat', 'utf8'));
    this.mergeNames();
    const stopped = new Promise<StopReason>((resolve) => (this.stop = resolve));
    inst.write('tracing_on', '1');
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const startedAt = new Date().toISOString();
    this.phase = 'recording';
    if (this.executable !== null) {
      this.command = new Command(this.executable, this.opts.argv!);
      void this.command.exited.then(() => this.stop('command-exit'));
    }
    if (this.opts.durationMs !== null) this.timers.push(setTimeout(() => this.stop('duration'), this.opts.durationMs));
    this.every(DRAIN_MS, () => this.spools!.drain());
    this.every(NAMES_MS, () => this.mergeNames());
    const onProgress = this.opts.onProgress;
    if (onProgress) {
      this.every(PROGRESS_MS, () => {
        const stats = cpus.map((cpu) => parseRingStats(inst.read(`per_cpu/cpu${cpu}/stats`)));
        onProgress({ elapsedSec: Number(process.hrtime.bigint() - t0) / 1e9, events: sum(stats.map((s) => s.read + s.entries)), lost: sum(stats.map(lostOf)) });
      });
    }
    const reason = await stopped;

    for (const t of this.timers) clearTimeout(t);
    inst.write('tracing_on', '0');
    const durationSec = Number(process.hrtime.bigint() - t0) / 1e9;
    const recorderCpu = process.cpuUsage(cpu0);
    const irqAfter = parseInterrupts(readFileSync('/proc/interrupts', 'utf8'), IRQ_LINES);
    const vmAfter = parseVmstatTlb(readFileSync('/proc/vmstat', 'utf8'));
    this.spools!.drain(true);
    this.mergeNames();
    // after the last read, as trace-cmd records them: `entries` (left unread) 0, `read events` all
    const statsText = cpus.map((cpu) => inst.read(`per_cpu/cpu${cpu}/stats`));
    const delta = (name: string) => (irqBefore.has(name) && irqAfter.has(name) ? deltaPerCpu(irqBefore.get(name)!, irqAfter.get(name)!) : null);
    return {
      stoppedBy: this.signalled ?? reason,
      startedAt,
      durationSec,
      recorderCpuSec: { user: recorderCpu.user / 1e6, system: recorderCpu.system / 1e6 },
      tlb: delta('TLB'),
      cal: delta('CAL'),
      vmstat: deltaRecord(vmBefore, vmAfter),
      statsText,
      stats: statsText.map(parseRingStats),
      printkFormats: fs.readBytes('printk_formats'),
      traceClock: inst.read('trace_clock').trim(),
    };
  }

  /** trace.dat from the spools, saved_tgids, then capture.json; the spools are removed. */
  private async writeCapture(machine: MachineInfo, setup: Setup, rec: Recorded): Promise<RecordResult> {
    const { fs, inst, plan, cpus, pageSize, bufferKb, enabled, missing, formats } = setup;
    const cpuCount = cpus.length ? Math.max(...cpus) + 1 : 0;
    /** per-CPU values by CPU number (per_cpu/ may skip numbers) */
    const byCpu = <T>(values: T[], empty: T): T[] => {
      const out = new Array<T>(cpuCount).fill(empty);
      cpus.forEach((cpu, i) => (out[cpu] = values[i]!));
      return out;
    };
    const spoolPaths = byCpu<string | null>(cpus.map((cpu) => this.spoolPath(cpu)), null);
    const traceBytes = await writeTraceDat(join(this.opts.outDir, TRACE_FILE), {
      pageSize,
      headerPage: formats.headerPage,
      headerEvent: formats.headerEvent,
      ftraceFormats: formats.ftrace,
      eventFormats: formats.events,
      kallsyms: readFileSync('/proc/kallsyms'),
      printkFormats: rec.printkFormats,
      cmdlines: this.names.cmdlinesText(),
      traceClock: rec.traceClock,
      uname: machine.uname,
      cpuStats: byCpu(rec.statsText, ''),
      cpuData: spoolPaths,
      cpuDataSize: spoolPaths.map((p) => (p === null ? 0 : statSync(p).size)),
    });
    for (const p of spoolPaths) if (p !== null) unlinkSync(p);
    await writeFile(join(this.opts.outDir, TGIDS_FILE), this.names.tgidsText(), { flag: 'wx' });

    const exit = this.command !== null ? await this.command.exited : null;
    const stats = rec.stats;
    const capture: CaptureFile = {
      schema: CAPTURE_SCHEMA,
      tool: { name: 'tlbtrace', version: VERSION },
      kernel: machine.kernel,
      cpus: machine.cpus,
      machine: machine.description,
      hypervisor: machine.hypervisor,
      command: this.opts.argv !== null ? shellQuote(this.opts.argv) : null,
      argv: this.opts.argv,
      exitCode: exit?.exitCode ?? null,
      stoppedBy: rec.stoppedBy,
      startedAt: rec.startedAt,
      durationSec: Math.round(rec.durationSec * 1e6) / 1e6,
      recording: {
        files: [TRACE_FILE, TGIDS_FILE],
        method: 'per-CPU trace_pipe_raw pages streamed while recording, written as trace.dat file version 6',
        tracefs: { root: fs.root, instance: inst.name, mountedByRecord: fs.mountedByUs, traceClock: /\[([^\]]+)\]/.exec(rec.traceClock)?.[1] ?? rec.traceClock, pageSize },
        bufferSizeKbPerCpu: bufferKb,
        eventsEnabled: enabled,
        eventsMissing: missing,
        syscallFilter: plan.rawSyscallFilter,
        tlbIrqDeltaPerCpu: rec.tlb,
        calIrqDeltaPerCpu: rec.cal,
        vmstatTlbDelta: rec.vmstat,
        eventsPerCpu: byCpu(stats.map((s) => s.read + s.entries), 0),
        overrunPerCpu: byCpu(stats.map((s) => s.overrun), 0),
        commitOverrunPerCpu: byCpu(stats.map((s) => s.commitOverrun), 0),
        droppedPerCpu: byCpu(stats.map((s) => s.dropped), 0),
        lost: stats.some((s) => lostOf(s) > 0),
        recorderCpuSec: rec.recorderCpuSec,
      },
      note: 'tlbIrqDeltaPerCpu / calIrqDeltaPerCpu: per-CPU deltas of the "TLB shootdowns" / "Function call interrupts" lines of /proc/interrupts, read just before tracing was switched on and just after it was switched off (a few counts of slack). eventsPerCpu, overrunPerCpu, commitOverrunPerCpu, droppedPerCpu: the ring buffer\'s per_cpu/cpuN/stats after tracing stopped.',
    };
    await writeFile(join(this.opts.outDir, CAPTURE_FILE), `${JSON.stringify(capture, null, 2)}\n`, { flag: 'wx' });
    return { exitCode: exit?.exitCode ?? 0, capture, traceBytes };
  }

  /** Everything before tracing starts; throws RecordError (or an I/O error) with nothing left running. */
  private setUp(): Setup {
    const fs = (this.fs = Tracefs.open());
    for (const name of staleInstances(fs)) {
      this.opts.log(`tlbtrace: warning: ${fs.path(`instances/${name}`)} was left by a recording that was killed; its tracing may still run: remove it with 'rmdir ${fs.path(`instances/${name}`)}'`);
    }
    const plan = planEvents(parseAvailableEvents(fs.read('available_events')));
    if (!plan.enable.includes('tlb:tlb_flush')) {
      throw new RecordError(`this kernel has no tlb:tlb_flush event (x86 only; ${fs.path('available_events')} does not list it): there is nothing for tlbtrace to record`);
    }
    const inst = (this.inst = Instance.create(fs, instanceName()));
    inst.write('tracing_on', '0');
    const cpus = inst.cpus();
    const bufferKb = this.opts.bufferKbPerCpu ?? defaultBufferKb(cpus.length, memAvailableKb());
    inst.write('buffer_size_kb', String(bufferKb));
    inst.write('options/record-tgid', '1');
    if (plan.rawSyscallFilter !== null) inst.write('events/raw_syscalls/sys_enter/filter', plan.rawSyscallFilter);
    const enabled: string[] = [];
    const missing: MissingEvent[] = [...plan.missing];
    const formats = { headerPage: fs.read('events/header_page'), headerEvent: fs.read('events/header_event'), ftrace: [] as string[], events: new Map<string, string[]>() };
    for (const event of plan.enable) {
      const [system, name] = event.split(':') as [string, string];
      try {
        inst.write(`events/${system}/${name}/enable`, '1');
      } catch (err) {
        missing.push({ event, cost: `could not be enabled (${(err as Error).message})` });
        continue;
      }
      enabled.push(event);
      formats.events.set(system, [...(formats.events.get(system) ?? []), fs.read(`events/${system}/${name}/format`)]);
    }
    for (const name of fs.list('events/ftrace')) {
      if (fs.exists(`events/ftrace/${name}/format`)) formats.ftrace.push(fs.read(`events/ftrace/${name}/format`));
    }
    // 6.8+ lets the sub-buffer (the page trace_pipe_raw hands over) be larger than a page
    const pageSize = inst.exists('buffer_subbuf_size_kb') ? Number(inst.read('buffer_subbuf_size_kb').trim()) * 1024 : 4096;
    const header = parseHeaderPage(formats.headerPage);
    if (header === null) throw new RecordError(`${fs.path('events/header_page')} does not describe the ring-buffer page (timestamp, commit, data)`);
    this.spools = Spools.open(
      cpus,
      { pipe: (cpu) => inst.path(`per_cpu/cpu${cpu}/trace_pipe_raw`), stats: (cpu) => inst.path(`per_cpu/cpu${cpu}/stats`), spool: (cpu) => this.spoolPath(cpu) },
      pageSize,
      pageSize - header.dataOffset,
    );
    return { fs, inst, plan, cpus, pageSize, bufferKb, enabled, missing, formats };
  }

  private spoolPath(cpu: number): string {
    return join(this.opts.outDir, `${TRACE_FILE}.cpu${cpu}`);
  }

  /** A periodic job; its error stops the recording (and is thrown once the machine is restored). */
  private every(ms: number, job: () => void): void {
    this.timers.push(
      setInterval(() => {
        if (this.failure !== null) return;
        try {
          job();
        } catch (err) {
          this.failure = new RecordError(`recording failed: ${(err as Error).message}; what was read so far is in ${this.opts.outDir}/${TRACE_FILE}.cpuN (raw ring-buffer pages)`);
          this.opts.log(`tlbtrace: recording failed: ${(err as Error).message}; stopping`);
          this.command?.signal('SIGTERM');
          this.stop('command-exit');
        }
      }, ms),
    );
  }

  private mergeNames(): void {
    const fs = this.fs!;
    this.names.mergeCmdlines(fs.read('saved_cmdlines'));
    this.names.mergeTgids(fs.read('saved_tgids'));
  }

  private handleSignal(sig: StopSignal): void {
    if (this.phase !== 'recording') {
      if (this.phase === 'finishing') this.opts.log(`tlbtrace: ${sig}: writing the capture (tracefs is already restored); one moment`);
      return;
    }
    if (this.signalled !== null) {
      if (this.command?.running) {
        this.opts.log(`tlbtrace: second ${sig}: killing ${this.opts.argv![0]}`);
        this.command.signal('SIGKILL');
      }
      return;
    }
    this.signalled = sig;
    const command = this.command;
    if (command === null || !command.running) {
      this.stop(sig);
      return;
    }
    this.opts.log(`tlbtrace: ${sig}: stopping when ${this.opts.argv![0]} exits (again to kill it)`);
    if (sig === 'SIGINT') this.timers.push(setTimeout(() => command.signal('SIGINT'), SIGINT_GRACE_MS));
    else command.signal(sig);
  }

  /** Put tracefs back as we found it; once. Problems are told, not thrown (we are often unwinding). */
  private restore(): void {
    if (this.restored) return;
    this.restored = true;
    for (const t of this.timers) clearTimeout(t);
    const problems: string[] = [];
    try {
      this.spools?.close();
    } catch (err) {
      problems.push(`closing the ring-buffer readers: ${(err as Error).message}`);
    }
    if (this.inst !== null) problems.push(...this.inst.remove());
    if (this.fs !== null) problems.push(...this.fs.close());
    for (const p of problems) this.opts.log(`tlbtrace: warning: ${p}`);
  }

  /** After a failed setup: no capture was made, so take the empty spools (and our directory) away. */
  private removeOutput(): void {
    // the directory was empty when we started: every spool in it is ours
    for (const f of readdirSync(this.opts.outDir)) {
      if (/^trace\.dat\.cpu\d+$/.test(f)) unlinkSync(join(this.opts.outDir, f));
    }
    if (this.createdDir) {
      try {
        rmdirSync(this.opts.outDir);
      } catch {
        // not empty: leave it
      }
    }
  }
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

