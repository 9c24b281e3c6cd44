// Streaming the ring buffer while the workload runs: each CPU's per_cpu/cpuN/trace_pipe_raw is
// read, page by page, into a spool file (`trace.dat.cpuN` in the capture directory, as trace-cmd
// record does), so a long run never overwrites its own beginning. At the end the spools become the
// trace.dat's per-CPU data as they are (tracedat.ts).
//
// A read of trace_pipe_raw (kernel/trace/trace.c tracing_buffers_read()) hands over one ring-buffer
// page: the page header (timestamp, commit size with the missed-events flags) and the records, in
// the layout events/header_page describes; a page the writer is still filling comes back partial
// (ring_buffer_read_page() copies the records so far). Events the buffer overwrote before we read
// them are marked on the next page read (RB_MISSED_EVENTS, and the count when it fits), which both
// our reader and trace-cmd report show per CPU.
//
// Descriptors are opened O_NONBLOCK and read with readSync: the kernel copies whole pages (no
// per-event formatting, unlike trace_pipe text), and no libuv thread sits blocked per CPU, so one
// timer serves any number of CPUs. While recording, a CPU is read only as many pages as its
// unread bytes fill (`bytes:` in per_cpu/cpuN/stats): reading on to EAGAIN would keep taking the
// page the writer is filling, a few events at a time, each read a mostly empty page (measured:
// 360,000 reads and a 1.4 GB file for 3.6 M events of `stress-ng --madvise 2`). The final drain,
// after tracing is off, reads to EAGAIN.

import { closeSync, constants, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { parseRingStats } from './counters.js';

/** pages gathered before one write to the spool */
const WRITE_PAGES = 64;

export class CpuSpool {
  private readonly pipeFd: number;
  private readonly spoolFd: number;
  private readonly buf: Buffer;
  private filled = 0;
  private closed = false;
  pages = 0;

  constructor(
    readonly cpu: number,
    pipePath: string,
    private readonly statsPath: string,
    readonly spoolPath: string,
    readonly pageSize: number,
    /** record bytes a page holds (page size minus its header, events/header_page `data`) */
    private readonly pageData: number,
  ) {
    this.pipeFd = openSync(pipePath, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      this.spoolFd = openSync(spoolPath, 'wx');
    } catch (err) {
      closeSync(this.pipeFd);
      throw err;
    }
    this.buf = Buffer.alloc(pageSize * WRITE_PAGES);
  }

  /**
   * Read the pages available now: the whole pages only while recording, everything when `final`
   * (tracing is off). Returns the number of pages read.
   */
  drain(final: boolean): number {
    const limit = final ? Infinity : Math.floor(parseRingStats(readFileSync(this.statsPath, 'utf8')).bytes / this.pageData);
    let n = 0;
    while (n < limit) {
      // the rest of the current page: a read never crosses a page boundary of the buffer
      const want = this.pageSize - (this.filled % this.pageSize);
      let got: number;
      try {
        got = readSync(this.pipeFd, this.buf, this.filled, want, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw new Error(`reading CPU ${this.cpu}'s ring buffer: ${(err as Error).message}`);
      }
      if (got === 0) break;
      this.filled += got;
      if (this.filled % this.pageSize === 0) {
        n++;
        if (this.filled === this.buf.length) this.flush();
      }
    }
    this.pages += n;
    this.flush();
    return n;
  }

  private flush(): void {
    const whole = this.filled - (this.filled % this.pageSize);
    let off = 0;
    while (off < whole) off += writeSync(this.spoolFd, this.buf, off, whole - off);
    this.buf.copy(this.buf, 0, whole, this.filled);
    this.filled -= whole;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.pipeFd);
    closeSync(this.spoolFd);
  }
}

/** The spools of all CPUs, drained together. */
export class Spools {
  private constructor(readonly cpus: CpuSpool[]) {}

  /** `pipePath(cpu)`: the CPU's trace_pipe_raw; `spoolPath(cpu)`: where its pages go */
  static open(cpus: number[], files: { pipe: (cpu: number) => string; stats: (cpu: number) => string; spool: (cpu: number) => string }, pageSize: number, pageData: number): Spools {
    const opened: CpuSpool[] = [];
    try {
      for (const cpu of cpus) opened.push(new CpuSpool(cpu, files.pipe(cpu), files.stats(cpu), files.spool(cpu), pageSize, pageData));
    } catch (err) {
      for (const s of opened) s.close();
      throw err;
    }
    return new Spools(opened);
  }

  drain(final = false): number {
    let n = 0;
    for (const s of this.cpus) n += s.drain(final);
    return n;
  }

  get pages(): number {
    return this.cpus.reduce((sum, s) => sum + s.pages, 0);
  }

  close(): void {
    for (const s of this.cpus) s.close();
  }
}
