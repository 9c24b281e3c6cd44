// --from/--to: a window of trace-clock time (seconds, as the trace prints them), for `analyze`
// (what is analyzed) and `export` (what goes on the Perfetto timeline).

import { UsageError } from './errors.js';

export interface TimeWindow {
  from?: number;
  to?: number;
}

/** The flags as a window in seconds; undefined when neither is given. */
export function parseTimeWindow(from: string | undefined, to: string | undefined): TimeWindow | undefined {
  if (from === undefined && to === undefined) return undefined;
  const sec = (flag: string, v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`${flag} must be a time in seconds, as the trace prints it (got '${v}')`);
    return n;
  };
  const w: TimeWindow = {};
  if (from !== undefined) w.from = sec('--from', from);
  if (to !== undefined) w.to = sec('--to', to);
  if (w.from !== undefined && w.to !== undefined && w.from > w.to) throw new UsageError('--from is after --to');
  return w;
}
