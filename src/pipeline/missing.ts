// A trace recorded without the TLB events (a sched_switch-only trace.dat from a scheduler study,
// say) analyzes into a page of zeros that reads like "no shootdowns". This names the TLB events
// the trace has none of (input.tlbEventsMissing) and, when tlb_flush itself is missing, puts the
// reason and the command that records them first in blindSpots, which every report shows.

import { RECORD_HINT, TLB_FAMILIES, shortName } from '../events/catalogue.js';

/** TLB events with no occurrence in the trace, as `system:event`. */
export function tlbEventsMissing(eventsByType: Readonly<Record<string, number>>): string[] {
  return TLB_FAMILIES.flatMap((f) => f.events).filter((e) => !((eventsByType[shortName(e)] ?? 0) > 0));
}

/** The blind-spot line for a trace without tlb_flush, or null when it has some. */
export function missingTlbEventsLine(eventsByType: Readonly<Record<string, number>>, missing: readonly string[]): string | null {
  if (!missing.includes('tlb:tlb_flush')) return null;
  const present = Object.entries(eventsByType)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  const has = present.length === 0 ? 'it has no events at all' : `it has only ${present.slice(0, 4).map(([k]) => k).join(', ')}${present.length > 4 ? ` and ${present.length - 4} other kinds` : ''}`;
  return `No tlb:tlb_flush events: this trace was recorded without the TLB events (${has}), so every flush, request and shootdown count is 0 for want of events, not because nothing happened. Missing: ${missing.join(', ')}. Record them with \`${RECORD_HINT}\`, then \`tlbtrace analyze DIR\`.`;
}
