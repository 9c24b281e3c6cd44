// A strict checker of Trace Event Format JSON, stricter than the viewers (which drop or spill what
// they cannot place, and say so only in an import log): every event has the fields its phase
// requires with the right types, duration slices nest on each track (pid, tid), every v1 flow
// has one start and one end, each bound to a slice that exists (binding point "e": the slice
// enclosing its time on its track), and counters carry numbers. Used by the tests on the
// Perfetto export; `node dist/export/perfetto-check.js FILE` checks a file by hand.
//
// Rules from the Trace Event Format document and from what Perfetto's importer accepts
// (json_trace_parser.cc, flow_tracker.cc: a flow binds to the topmost open slice of its track).

import { readFileSync } from 'node:fs';

export interface CheckResult {
  events: number;
  byPhase: Record<string, number>;
  slices: number;
  flows: number;
  counters: number;
  tracks: number;
  errors: string[];
  /** errors beyond the first 50 are only counted */
  errorCount: number;
}

const KNOWN_KEYS = new Set(['name', 'cat', 'ph', 'ts', 'tts', 'pid', 'tid', 'dur', 'tdur', 'args', 'id', 'id2', 'bp', 's', 'cname', 'bind_id', 'flow_in', 'flow_out', 'sf', 'stack']);
const PHASES = new Set(['X', 'B', 'E', 'i', 'I', 'C', 's', 't', 'f', 'M', 'b', 'e', 'n']);
const METADATA = new Set(['process_name', 'process_labels', 'process_sort_index', 'thread_name', 'thread_sort_index']);
const MAX_ERRORS = 50;

interface Slice {
  ts: number;
  end: number;
  index: number;
}

type Ev = Record<string, unknown>;

export function checkTraceEvents(json: string): CheckResult {
  const res: CheckResult = { events: 0, byPhase: {}, slices: 0, flows: 0, counters: 0, tracks: 0, errors: [], errorCount: 0 };
  const err = (i: number, msg: string) => {
    res.errorCount++;
    if (res.errors.length < MAX_ERRORS) res.errors.push(i < 0 ? msg : `event ${i}: ${msg}`);
  };
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (e) {
    err(-1, `not JSON: ${(e as Error).message}`);
    return res;
  }
  let events: unknown;
  if (Array.isArray(doc)) events = doc;
  else if (doc !== null && typeof doc === 'object' && Array.isArray((doc as Ev).traceEvents)) {
    events = (doc as Ev).traceEvents;
    const unit = (doc as Ev).displayTimeUnit;
    if (unit !== undefined && unit !== 'ms' && unit !== 'ns') err(-1, `displayTimeUnit must be "ms" or "ns" (got ${JSON.stringify(unit)})`);
  } else {
    err(-1, 'neither an array of events nor an object with a traceEvents array');
    return res;
  }

  const slicesByTrack = new Map<string, Slice[]>();
  const openB = new Map<string, Array<{ name: unknown; ts: number; index: number }>>();
  const flowStarts = new Map<string, { track: string; ts: number; index: number }>();
  const flowEnds = new Map<string, { track: string; ts: number; index: number; enclosing: boolean }>();
  const isInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v);
  const isTime = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

  (events as unknown[]).forEach((raw, i) => {
    res.events++;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return err(i, 'not an object');
    const e = raw as Ev;
    for (const k of Object.keys(e)) if (!KNOWN_KEYS.has(k)) err(i, `unknown field "${k}"`);
    const ph = e.ph;
    if (typeof ph !== 'string' || !PHASES.has(ph)) return err(i, `ph ${JSON.stringify(ph)} is not a known phase`);
    res.byPhase[ph] = (res.byPhase[ph] ?? 0) + 1;
    if (typeof e.name !== 'string' || e.name === '') err(i, 'name must be a non-empty string');
    if (!isTime(e.ts)) err(i, `ts must be a finite number >= 0 (got ${JSON.stringify(e.ts)})`);
    if (!isInt(e.pid)) err(i, 'pid must be an integer');
    if (ph !== 'C' && ph !== 'M' && !isInt(e.tid)) err(i, 'tid must be an integer');
    if (e.tid !== undefined && !isInt(e.tid)) err(i, 'tid must be an integer');
    if (e.cat !== undefined && typeof e.cat !== 'string') err(i, 'cat must be a string');
    if (e.args !== undefined && (e.args === null || typeof e.args !== 'object' || Array.isArray(e.args))) err(i, 'args must be an object');
    const track = `${String(e.pid)}/${String(e.tid)}`;
    // in integer nanoseconds, as Perfetto stores them: µs + µs in floating point is not exact
    const ts = Math.round((e.ts as number) * 1000);
    switch (ph) {
      case 'X': {
        if (!isTime(e.dur)) return err(i, `X needs dur >= 0 (got ${JSON.stringify(e.dur)})`);
        const list = slicesByTrack.get(track) ?? [];
        list.push({ ts, end: ts + Math.round((e.dur as number) * 1000), index: i });
        slicesByTrack.set(track, list);
        res.slices++;
        break;
      }
      case 'B': {
        const st = openB.get(track) ?? [];
        st.push({ name: e.name, ts, index: i });
        openB.set(track, st);
        break;
      }
      case 'E': {
        const st = openB.get(track);
        const b = st?.pop();
        if (b === undefined) return err(i, `E on ${track} with no open B`);
        if (ts < b.ts) err(i, `E before its B (event ${b.index})`);
        const list = slicesByTrack.get(track) ?? [];
        list.push({ ts: b.ts, end: ts, index: b.index });
        slicesByTrack.set(track, list);
        res.slices++;
        break;
      }
      case 'C': {
        const args = e.args as Ev | undefined;
        const vals = args === undefined ? [] : Object.values(args);
        if (vals.length === 0) err(i, 'C needs args with at least one value');
        for (const v of vals) if (typeof v !== 'number' || !Number.isFinite(v)) err(i, `counter value ${JSON.stringify(v)} is not a finite number`);
        res.counters++;
        break;
      }
      case 'M': {
        if (!METADATA.has(e.name as string)) err(i, `unknown metadata name ${JSON.stringify(e.name)}`);
        const args = e.args as Ev | undefined;
        if ((e.name as string).endsWith('_name') && typeof args?.name !== 'string') err(i, 'name metadata needs args.name');
        if ((e.name as string).endsWith('_sort_index') && !isInt(args?.sort_index)) err(i, 'sort index metadata needs an integer args.sort_index');
        if ((e.name as string).startsWith('thread_') && !isInt(e.tid)) err(i, 'thread metadata needs a tid');
        break;
      }
      case 's':
      case 'f':
      case 't': {
        if (typeof e.id !== 'number' && typeof e.id !== 'string') return err(i, `${ph} needs an id`);
        if (typeof e.cat !== 'string') err(i, `${ph} needs a cat`);
        if (ph === 'f' && e.bp !== undefined && e.bp !== 'e') err(i, `bp must be "e" (got ${JSON.stringify(e.bp)})`);
        const key = `${String(e.cat)}\u0000${String(e.name)}\u0000${String(e.id)}`;
        if (ph === 's') {
          if (flowStarts.has(key)) err(i, `flow id ${String(e.id)} started twice`);
          flowStarts.set(key, { track, ts, index: i });
        } else if (ph === 'f') {
          if (flowEnds.has(key)) err(i, `flow id ${String(e.id)} ended twice`);
          flowEnds.set(key, { track, ts, index: i, enclosing: e.bp === 'e' });
        }
        break;
      }
      case 'i':
      case 'I':
        if (e.s !== undefined && e.s !== 'g' && e.s !== 'p' && e.s !== 't') err(i, 'instant scope s must be g, p or t');
        break;
      default:
        break;
    }
  });
  for (const [track, st] of openB) for (const b of st) err(b.index, `B on ${track} never ended`);

  // nesting per track: sorted by start, longer first; each slice inside the open one or after it
  for (const [track, list] of slicesByTrack) {
    list.sort((a, b) => a.ts - b.ts || b.end - a.end || a.index - b.index);
    const stack: Slice[] = [];
    for (const s of list) {
      while (stack.length > 0 && stack[stack.length - 1]!.end <= s.ts && !(stack[stack.length - 1]!.end === s.ts && s.end === s.ts && stack[stack.length - 1]!.ts === s.ts)) stack.pop();
      const top = stack[stack.length - 1];
      if (top !== undefined && s.end > top.end) err(s.index, `slice [${s.ts}, ${s.end}] on ${track} overlaps slice [${top.ts}, ${top.end}] (event ${top.index}) without nesting`);
      stack.push(s);
    }
  }
  res.tracks = slicesByTrack.size;

  // flows: one start and one end each, bound to slices, not going back in time
  // per track (sorted by start above): the largest end among the slices starting at or before each
  const maxEnd = new Map<string, Float64Array>();
  for (const [track, list] of slicesByTrack) {
    const m = new Float64Array(list.length);
    list.forEach((s, i) => (m[i] = Math.max(s.end, i > 0 ? m[i - 1]! : -Infinity)));
    maxEnd.set(track, m);
  }
  /** index of the last slice of `track` starting at or before ts, -1 if none */
  const lastStart = (list: Slice[], ts: number) => {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (list[m]!.ts <= ts) lo = m + 1;
      else hi = m;
    }
    return lo - 1;
  };
  const enclosing = (track: string, ts: number) => {
    const list = slicesByTrack.get(track) ?? [];
    const j = lastStart(list, ts);
    return j >= 0 && maxEnd.get(track)![j]! >= ts;
  };
  const startsAfter = (track: string, ts: number) => {
    const list = slicesByTrack.get(track) ?? [];
    return list.length > 0 && list[list.length - 1]!.ts >= ts;
  };
  for (const [key, s] of flowStarts) {
    const f = flowEnds.get(key);
    if (f === undefined) {
      err(s.index, 'flow start without an end');
      continue;
    }
    if (!enclosing(s.track, s.ts)) err(s.index, `flow start at ${s.ts} on ${s.track} is inside no slice`);
    if (f.enclosing ? !enclosing(f.track, f.ts) : !startsAfter(f.track, f.ts)) err(f.index, `flow end at ${f.ts} on ${f.track} binds to no slice`);
    if (f.ts < s.ts) err(f.index, `flow ends (${f.ts}) before it starts (${s.ts})`);
    res.flows++;
  }
  for (const [key, f] of flowEnds) if (!flowStarts.has(key)) err(f.index, 'flow end without a start');
  return res;
}

export function checkTraceFile(path: string): CheckResult {
  return checkTraceEvents(readFileSync(path, 'utf8'));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = process.argv[2];
  if (path === undefined) {
    process.stderr.write('usage: node dist/export/perfetto-check.js TRACE.json\n');
    process.exit(2);
  }
  const r = checkTraceFile(path);
  process.stdout.write(JSON.stringify({ ...r, errors: r.errors }, null, 2) + '\n');
  process.exit(r.errorCount === 0 ? 0 : 1);
}
