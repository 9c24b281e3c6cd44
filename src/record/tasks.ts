// Task names and thread groups seen during the recording. Ring-buffer records carry only a pid;
// the kernel keeps pid -> comm (saved_cmdlines, a cache of saved_cmdlines_size entries) and, with
// options/record-tgid, pid -> tgid (saved_tgids) for the tasks that traced (kernel/trace/
// trace_sched_switch.c tracing_record_taskinfo()). Both are global to tracefs and forget: a small
// cache drops old pids, a reused pid shows its last task. So they are read every second while
// recording and merged, the latest reading of a pid winning, as raw ftrace text does when it
// prints the TGID column at read time. The comms go into the trace.dat's saved cmdlines; the
// tgids into `saved_tgids` beside it (trace.dat has no place for them), which `analyze DIR` gives
// the trace.dat reader, so the model knows processes as it does from raw ftrace.

export class TaskNames {
  readonly comms = new Map<number, string>();
  readonly tgids = new Map<number, number>();

  /** saved_cmdlines: `pid comm` lines */
  mergeCmdlines(text: string): void {
    for (const line of text.split('\n')) {
      const m = /^(\d+) (.+)$/.exec(line);
      if (m && m[2] !== '<...>') this.comms.set(Number(m[1]), m[2]!);
    }
  }

  /** saved_tgids: `pid tgid` lines */
  mergeTgids(text: string): void {
    for (const line of text.split('\n')) {
      const m = /^(\d+) (\d+)$/.exec(line);
      if (m) this.tgids.set(Number(m[1]), Number(m[2]));
    }
  }

  /** the trace.dat cmdlines section: `pid comm` lines, as saved_cmdlines prints them */
  cmdlinesText(): string {
    return [...this.comms].map(([pid, comm]) => `${pid} ${comm}\n`).join('');
  }

  /** the capture's `saved_tgids` file, in the kernel's format */
  tgidsText(): string {
    return [...this.tgids].map(([pid, tgid]) => `${pid} ${tgid}\n`).join('');
  }
}

/** `saved_tgids` text -> pid -> tgid (for the trace.dat reader); bad lines are skipped. */
export function parseSavedTgids(text: string): Map<number, number> {
  const t = new TaskNames();
  t.mergeTgids(text);
  return t.tgids;
}
