// P0 observed must reproduce the observed section on every real fixture: its shootdowns are the
// remote flush_tlb_func callbacks (observed.remoteShootdowns.total), its IPIs the TLB IPIs
// (observed.ipis.tlb, or one per remote callback before 6.4), its requests observed.requests.
//
// A few callbacks belong to no request visible in the trace (a csd_function_entry whose
// csd_queue_cpu came before the trace started; a remote flush on a pre-6.5 kernel outside every
// open request window). No policy can act on them, so the pipeline carries them over unchanged to
// every policy; this test also checks that they stay a small share.

import { describe, expect, it } from 'vitest';
import { Diagnostics } from '../ingest/diagnostics.js';
import { openTrace } from '../ingest/index.js';
import { KernelModel } from '../model/model.js';
import { ObservedAccounting } from '../model/observed.js';
import type { FlushRequest } from '../model/types.js';
import { analyzeTrace } from '../pipeline/analyze.js';

const FIXTURES = [
  'fixtures/native-6.18-2cpu/mt-mixed/ftrace.txt.gz',
  'fixtures/native-6.18-2cpu/sng-tlb-shootdown/ftrace.txt.gz',
  'fixtures/qemu-6.1-8cpu/mt-munmap/ftrace.txt.gz',
  'fixtures/qemu-6.1-8cpu/reclaim-mmap/ftrace.txt.gz',
  'fixtures/qemu-6.12-8cpu/mt-munmap/ftrace.txt.gz',
  'fixtures/qemu-6.12-8cpu/lazy-idle/ftrace.txt.gz',
  'fixtures/qemu-6.12-16cpu/mt-munmap/ftrace.txt.gz',
];

/** Drive the model directly: what it hands to policies, and what it could not attach. */
async function directPass(file: string) {
  const source = await openTrace([file], {}, new Diagnostics({}));
  const emitted: FlushRequest[] = [];
  const model = new KernelModel({ cpus: source.meta.declaredCpus ?? 1, tgidKnown: source.meta.tgidKnown, sink: new ObservedAccounting(), emit: (e) => e.type === 'request' && emitted.push(e.req) });
  for await (const batch of source.events()) for (const e of batch) model.consume(e);
  model.finish(0);
  const flushes = emitted.filter((r) => r.kind !== 'tableSync');
  return {
    requests: flushes.length,
    shootdowns: flushes.reduce((n, r) => n + r.targets.filter((t) => t.outcome !== 'unanswered').length, 0),
    unattached: model.unattachedCallbacks,
  };
}

describe('observed (P0) == observed section', () => {
  it.each(FIXTURES)('%s', async (file) => {
    const s = await analyzeTrace([file], { policies: ['observed'] });
    const p0 = s.policies.observed!;
    expect(p0.requests).toBe(s.observed.requests);
    expect(p0.shootdowns).toBe(s.observed.remoteShootdowns.total);
    expect(p0.ipis).toBe(s.observed.ipis.tlb);
    expect(p0.avoidedShootdowns).toBe(0);
    expect(p0.avoidedIpis).toBe(0);
    // what the model emits plus what it could not attach is everything the trace shows
    const d = await directPass(file);
    expect(d.requests).toBe(s.observed.requests);
    expect(d.shootdowns + d.unattached).toBe(s.observed.remoteShootdowns.total);
    expect(d.unattached).toBeLessThanOrEqual(Math.max(2, s.observed.remoteShootdowns.total / 100));
    expect(p0.extra.wastedRemoteWrongCpu).toBeLessThanOrEqual(s.observed.wasted.byKind.remoteWrongCpu);
    // phantom requests (every target filtered) are only visible with csd events
    if (s.input.vocabulary.csd) expect(p0.extra.phantomRequests).toBe(s.observed.phantomRequests);
  });
});
