// Why a flush happened: the request's cause, from who initiated it and what it was doing (DOMAIN.md
// §3): a kernel thread by its name (kswapd, khugepaged, kcompactd, migration/N, kworker), a task in
// direct reclaim (between vmscan's mm_vmscan_direct_reclaim_begin and _end), else the task's last
// syscall entry (munmap, mprotect, madvise, move_pages, fork, exec, exit, ...).
//
// Only syscall entries are traced, so a call lasts until the task's next entry: however long it
// takes. A move_pages() of 2048 pages that flushes page by page takes 83 s under emulation on 6.1
// (fixtures/qemu-6.1-8cpu/migrate); with a 50 ms window, as before, most of its flushes were
// 'unknown'. The cost: a flush from a page fault (copy-on-write, NUMA hinting) after the task's
// last call returned is put on that call.

import type { TaskRegistry } from './tasks.js';

const KTHREAD_CAUSES = ['kswapd', 'khugepaged', 'kcompactd', 'migration', 'kworker'];

export class Causes {
  /** tasks between mm_vmscan_direct_reclaim_begin and _end */
  private readonly inDirectReclaim = new Set<number>();

  constructor(private readonly tasks: TaskRegistry) {}

  directReclaimBegin(pid: number): void {
    this.inDirectReclaim.add(pid);
  }

  directReclaimEnd(pid: number): void {
    this.inDirectReclaim.delete(pid);
  }

  /** whether `pid` is reclaiming memory itself (its unmap flushes are batched like kswapd's) */
  inReclaim(pid: number): boolean {
    return this.inDirectReclaim.has(pid);
  }

  causeOf(pid: number, ts: number, kthread: boolean, comm: string): string {
    if (kthread) {
      for (const k of KTHREAD_CAUSES) if (comm.startsWith(k)) return k;
      return 'kthread';
    }
    if (this.inDirectReclaim.has(pid)) return 'reclaim';
    const s = this.tasks.task(pid)?.lastSyscall ?? undefined;
    if (s !== undefined && s.ts <= ts) {
      switch (s.name) {
        case 'clone':
        case 'clone3':
        case 'fork':
        case 'vfork':
          return 'fork';
        case 'execve':
        case 'execveat':
          return 'exec';
        case 'exit':
        case 'exit_group':
          return 'exit';
        default:
          if (!s.name.startsWith('nr_')) return s.name;
      }
    }
    return 'unknown';
  }
}
