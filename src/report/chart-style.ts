// The look and the size limits shared by every chart (the fleet report's too), and the time
// coarsening that keeps a series under MAX_POINTS: adjacent buckets merged, rates recomputed.

import { WASTED_KIND_LABELS } from './format.js';

/** Upper bound on data points (line vertices or rects) per chart. */
export const MAX_POINTS = 4000;
/** Time buckets drawn in a line chart: more than ~1 per 3 px is noise, not detail. */
export const MAX_LINE_BUCKETS = 300;
/** Time buckets (columns) of the per-CPU heatmap. */
export const MAX_HEATMAP_BUCKETS = 150;
/** Heatmap cells are rects (~70 bytes of SVG each): a tighter budget. */
export const MAX_HEATMAP_CELLS = 2000;
/** Bars in the top-mms / causes charts. */
export const TOP_N = 15;


/** Axis labels for the wasted kinds (the tables use the longer WASTED_KIND_LABELS). */
export const WASTED_KIND_SHORT: Record<string, string> = {
  remoteWrongCpu: 'mm not loaded (reason 5)',
  remoteZeroPages: 'caught up (pages=0)',
  emptyCallback: 'empty callback',
  lazySwitchToInitMm: 'lazy → init_mm',
  tableSync: 'table-free sync',
};

export const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif';
export const WIDE_WIDTH = 900;
export const HALF_WIDTH = 400;
export const COLOR_USEFUL = '#4e79a7';
/** Axis of event counts: no fractional ticks. */
export const COUNT_AXIS = { tickMinStep: 1, format: ',d' } as const;
export const COLOR_WASTED = '#e15759';
export const COLOR_CUT = '#d9d9d9';

/** The look of every chart (also the fleet report's, src/fleet/render.ts). */
export const CONFIG = {
  font: FONT,
  background: 'white',
  view: { stroke: null },
  // no per-mark aria-label: it repeats every tooltip field on every rect/point (~300 bytes each,
  // most of a static SVG's size); the figure caption and the tables carry the same data
  mark: { aria: false },
  axis: {
    labelColor: '#333',
    titleColor: '#333',
    gridColor: '#ececec',
    domainColor: '#999',
    tickColor: '#999',
    labelFontSize: 11,
    titleFontSize: 11,
    titleFontWeight: 'normal',
    labelLimit: 220,
  },
  legend: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 'normal', labelLimit: 240 },
  header: { labelFontSize: 12, titleFontSize: 12, labelFontWeight: 'bold' },
  title: { fontSize: 14, anchor: 'start', fontWeight: 'bold', subtitleColor: '#555', subtitleFontSize: 11, offset: 8 },
} as const;

export function base(title: string, subtitle?: string): { title: { text: string; subtitle?: string }; config: typeof CONFIG } {
  return { title: subtitle ? { text: title, subtitle } : { text: title }, config: CONFIG };
}

// ---------------------------------------------------------------------------------------------
// Time coarsening

export interface TimeGrid {
  /** bucket width after coarsening, seconds */
  width: number;
  /** number of coarse buckets */
  n: number;
  /** end of the time axis: the capture's end, inside the last bucket (which is usually partial) */
  end: number;
  /** coarse bucket index of a fine bucket start `t` */
  index(t: number): number;
  /** seconds of capture bucket i covers (the last one may be shorter than `width`) */
  span(i: number): number;
}

/**
 * Merge adjacent buckets so that at most `maxBuckets` remain. `t` values are bucket starts in
 * seconds since the first event, multiples of `bucketSec`.
 */
export function timeGrid(bucketSec: number, ts: number[], durationSec: number, maxBuckets: number): TimeGrid {
  const fine = bucketSec > 0 ? bucketSec : 1;
  let lastIdx = durationSec > 0 ? Math.max(0, Math.ceil(durationSec / fine) - 1) : 0;
  for (const t of ts) lastIdx = Math.max(lastIdx, Math.round(t / fine));
  const nFine = lastIdx + 1;
  const k = Math.max(1, Math.ceil(nFine / Math.max(1, maxBuckets)));
  const width = fine * k;
  const n = Math.ceil(nFine / k);
  // a rate over the partial last bucket divides by the part the capture covered, so the line does
  // not dive at the end of every capture
  const end = durationSec > (n - 1) * width ? Math.min(n * width, durationSec) : n * width;
  return {
    width,
    n,
    end,
    index: (t: number) => Math.floor(Math.max(0, Math.round(t / fine)) / k),
    span: (i: number) => {
      const w = Math.min(width, end - i * width);
      return w > width * 1e-3 ? w : width;
    },
  };
}

/** Round for display data: keeps specs (and snapshots) free of float noise. */
export function r3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
