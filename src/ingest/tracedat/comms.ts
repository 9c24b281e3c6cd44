// pid -> comm, the way trace-cmd report names the task in each line header. libtraceevent
// (src/event-parse.c): tep_parse_saved_cmdlines() loads "pid comm" lines from the file's saved
// cmdlines (sscanf("%d %m[^\n]s"), stopping at the first line that does not parse);
// find_cmdline() answers "<idle>" for pid 0 and "<...>" for a pid it does not know. The
// sched_switch plugin (plugins/plugin_sched_switch.c, write_and_save_comm()) also calls
// tep_register_comm() for prev/next (and sched_wakeup's) comm while printing each event, which
// adds pids that were not known yet (never overrides: tep_register_comm() fails with EEXIST).
// A record's header is printed before its body, so a registration affects later records only.

export class CommTable {
  private readonly map = new Map<number, string>();
  /** bumped on every change, so per-CPU caches can tell when to look again */
  version = 0;

  constructor(savedCmdlines: string) {
    for (const line of savedCmdlines.split('\n')) {
      if (line === '') continue; // strtok_r skips empty lines
      const m = /^\s*([+-]?\d+)\s+(.+)$/.exec(line);
      if (!m) break;
      const pid = Number.parseInt(m[1]!, 10);
      if (!this.map.has(pid)) this.map.set(pid, m[2]!);
    }
  }

  lookup(pid: number): string {
    if (pid === 0) return '<idle>';
    return this.map.get(pid) ?? '<...>';
  }

  /** tep_register_comm(): pid 0 and known pids are left alone */
  register(pid: number, comm: string): void {
    if (pid === 0 || this.map.has(pid)) return;
    this.map.set(pid, comm);
    this.version++;
  }

  get size(): number {
    return this.map.size;
  }
}
