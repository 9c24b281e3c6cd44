// Regression thresholds: `--max-increase ipisPerSec=5%,remoteShootdownsPerSec=5%` or a JSON config
// file `{ "maxIncrease": { "ipisPerSec": "5%", "wasted": 10 } }` (a percentage, or an absolute
// increase). Validated with zod; a bad key is named in the error.

import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { InputError } from '../errors.js';

export interface Threshold {
  metric: string;
  /** allowed increase: relative (0.05 = 5%) or absolute */
  kind: 'relative' | 'absolute';
  value: number;
}

export const DEFAULT_THRESHOLDS = 'ipisPerSec=5%,remoteShootdownsPerSec=5%,tlbIpisPerSec=5%,wastedPerSec=10%,requestsPerSec=10%';

export const KNOWN_METRICS = [
  'requests', 'remoteShootdowns', 'ipis', 'tlbIpis', 'wasted', 'phantomRequests',
  'requestsPerSec', 'remoteShootdownsPerSec', 'ipisPerSec', 'tlbIpisPerSec', 'wastedPerSec',
];

const Limit = z.union([z.string().regex(/^\d+(\.\d+)?%$/, 'a percentage like "5%"'), z.number().nonnegative()]);
const ConfigFile = z
  .object({
    maxIncrease: z.record(z.string(), Limit),
  })
  .strict();

function parseLimit(metric: string, v: string | number, where: string): Threshold {
  if (!KNOWN_METRICS.includes(metric)) {
    throw new InputError(where, 0, `unknown metric '${metric}' in thresholds; known: ${KNOWN_METRICS.join(', ')}`);
  }
  if (typeof v === 'number') return { metric, kind: 'absolute', value: v };
  const t = v.trim();
  if (t.endsWith('%')) {
    const n = Number(t.slice(0, -1));
    if (Number.isFinite(n) && n >= 0) return { metric, kind: 'relative', value: n / 100 };
  } else if (t !== '' && Number.isFinite(Number(t)) && Number(t) >= 0) {
    return { metric, kind: 'absolute', value: Number(t) };
  }
  throw new InputError(where, 0, `bad limit '${v}' for ${metric}: expected a percentage like 5% or a non-negative number`);
}

/** `a=5%,b=10` -> thresholds. */
export function parseThresholdList(list: string, where = '--max-increase'): Threshold[] {
  const out: Threshold[] = [];
  for (const part of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const i = part.indexOf('=');
    if (i <= 0) throw new InputError(where, 0, `'${part}': expected metric=limit, e.g. ipisPerSec=5%`);
    out.push(parseLimit(part.slice(0, i), part.slice(i + 1), where));
  }
  return out;
}

export async function loadThresholdFile(path: string): Promise<Threshold[]> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new InputError(path, 0, `cannot read thresholds: ${(err as Error).message}`);
  }
  const r = ConfigFile.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0]!;
    const at = i.path.length ? i.path.join('.') : '(top level)';
    throw new InputError(path, 0, `invalid thresholds at ${at}: ${i.message} (expected {"maxIncrease": {"ipisPerSec": "5%", ...}})`);
  }
  for (const k of Object.keys(r.data.maxIncrease)) {
    if (!KNOWN_METRICS.includes(k)) throw new InputError(path, 0, `invalid thresholds at maxIncrease.${k}: unknown metric; known: ${KNOWN_METRICS.join(', ')}`);
  }
  return Object.entries(r.data.maxIncrease).map(([k, v]) => parseLimit(k, v, path));
}
