// Which events to enable on the running kernel: every event of src/events/catalogue.ts that its
// `available_events` lists, and for the rest what their absence costs (written to capture.json and
// printed before recording starts). Pure: the caller reads available_events and does the writes.
//
// Syscalls: the per-syscall events (syscalls:sys_enter_munmap, ...) are the mm syscalls by
// construction. A kernel without them (CONFIG_FTRACE_SYSCALLS off for those, or a non-x86_64
// numbering) but with raw_syscalls:sys_enter gets that one, filtered in the kernel to the same
// syscalls by number (x86_64 numbers, as ../shared/capture/qemu/init does), so a syscall storm of
// other calls costs nothing.

import { EVENT_FAMILIES } from '../events/catalogue.js';
import { X86_64_SYSCALLS } from '../events/payloads.js';

export interface MissingEvent {
  event: string;
  /** what the analysis loses without it */
  cost: string;
}

export interface EventPlan {
  /** `system:event`, in catalogue order */
  enable: string[];
  missing: MissingEvent[];
  /** filter for raw_syscalls:sys_enter when it stands in for the per-syscall events, else null */
  rawSyscallFilter: string | null;
}

const RAW_SYS_ENTER = 'raw_syscalls:sys_enter';

/** `available_events` lines (`system:event`) -> set */
export function parseAvailableEvents(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  );
}

export function planEvents(available: ReadonlySet<string>, arch: string = process.arch): EventPlan {
  const enable: string[] = [];
  const missing: MissingEvent[] = [];
  let rawSyscallFilter: string | null = null;
  for (const family of EVENT_FAMILIES) {
    const have = family.events.filter((e) => available.has(e));
    const lacking = family.events.filter((e) => !available.has(e));
    const syscalls = family.events.every((e) => e.startsWith('syscalls:'));
    if (syscalls && have.length === 0 && available.has(RAW_SYS_ENTER) && arch === 'x64') {
      const names = new Set(family.events.map((e) => e.slice('syscalls:sys_enter_'.length)));
      const nrs = X86_64_SYSCALLS.filter((s) => names.has(s.name)).map((s) => s.nr);
      rawSyscallFilter = nrs.map((nr) => `id == ${nr}`).join(' || ');
      enable.push(RAW_SYS_ENTER);
      continue;
    }
    enable.push(...have);
    for (const event of lacking) missing.push({ event, cost: family.missingCost });
  }
  return { enable, missing, rawSyscallFilter };
}

/** The missing events grouped by what they cost, for one line per family in messages. */
export function missingByCost(missing: readonly MissingEvent[]): Array<{ events: string[]; cost: string }> {
  const groups = new Map<string, string[]>();
  for (const m of missing) groups.set(m.cost, [...(groups.get(m.cost) ?? []), m.event]);
  return [...groups].map(([cost, events]) => ({ events, cost }));
}
