// Why a flush happened: the request's cause, from who initiated it and what it was doing (DOMAIN.md
// §3): a kernel thread by its name (kswapd, khugepaged, kcompactd, migration/N, kworker), a task in
// direct reclaim (between vmscan's mm_vmscan_direct_reclaim_begin and _end), else the task's last
// syscall entry if it is recent (munmap, mprotect, madvise, fork, exec, exit, ...).

import type { TaskRegistry } from './tasks.js';

/** A syscall entry older than this no longer explains a flush. */
const SYSCALL_CAUSE_WINDOW_NS = 50_000_000;

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
    if (s !== undefined && ts - s.ts < SYSCALL_CAUSE_WINDOW_NS) {
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
