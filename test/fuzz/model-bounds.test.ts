// Per-transaction state of the kernel model must stay bounded on broken traces: an initiator whose
// targets never answer (their CPU's events were lost) is closed after the model's 2 s trace-time
// timeout and counted as unanswered, not kept forever. These tests look at the model's internal
// queues (KernelModel.queueSizes()) while a long synthetic trace streams through it.
//
// Unanswered targets are counted when the model gives up on them (same csd re-queued, lost-events
// marker, timeout), not only while they sit in the pairing queues.

import { describe, expect, it } from 'vitest';
import { Diagnostics } from '../../src/ingest/diagnostics.js';
import { openTrace } from '../../src/ingest/index.js';
import { KernelModel, outboxLimit } from '../../src/model/model.js';
import { ObservedAccounting } from '../../src/model/observed.js';
import { analyzeTrace } from '../../src/pipeline/analyze.js';
import { FtraceText, thread, type Target } from '../policies/ftrace-builder.js';

/** Stream `text` through a KernelModel; the largest sizes its queues reached. */
async function streamModel(text: string, cpus: number) {
  const src = await openTrace(['-'], { stdin: Buffer.from(text) }, new Diagnostics());
  const m = new KernelModel({ cpus, tgidKnown: true, emit: () => undefined, sink: new ObservedAccounting() });
  const max = { outbox: 0, windowOpen: 0, csdEntries: 0 };
  let n = 0;
  for await (const batch of src.events()) {
    for (const e of batch) {
      m.consume(e);
      if (++n % 500 === 0) {
        const q = m.queueSizes();
        max.outbox = Math.max(max.outbox, q.outbox);
        max.windowOpen = Math.max(max.windowOpen, q.openRequests);
        max.csdEntries = Math.max(max.csdEntries, q.queuedCallbacks);
      }
    }
  }
  return { max, events: n };
}

const app = thread('app', 100, 100);
const toCpu1: Target[] = [{ cpu: 1, task: app, outcome: { kind: 'full' } }];

/** CPU 0 shoots down CPU 1 every `everyUs` for `n` requests; CPU 1's handlers are all lost. */
function neverAnswered(n: number, everyUs: number): FtraceText {
  const t = new FtraceText(4);
  t.switchTo(0, app, -1).switchTo(1, app, -1);
  for (let i = 0; i < n; i++) {
    t.queueOnly(0, 1, toCpu1, { pages: 1 });
    t.wait(everyUs);
  }
  return t;
}

describe('transactions whose targets never answer', () => {
  it('are closed after the 2 s trace-time timeout: state stays bounded, every request is counted', async () => {
    // 6000 requests over 6 s of trace time: at most ~2 s worth (2000) may be open at once
    const t = neverAnswered(6000, 1000);
    const { max } = await streamModel(t.text(), 4);
    expect(max.windowOpen).toBeLessThan(2100);
    expect(max.outbox).toBeLessThan(2100);
    expect(max.csdEntries).toBeLessThanOrEqual(4096);
    const s = await analyzeTrace(['-'], { ingest: { stdin: Buffer.from(t.text()) }, policies: ['observed'] });
    expect(s.observed.requestsByKind.remote).toBe(6000);
  }, 60_000);

  it('unanswered targets are counted even once their pairing entry is dropped', async () => {
    // unansweredCount() counts the entries still in the pairing FIFOs. Entries leave them when the
    // same csd is queued again (abandon(): the older handler was lost), when the FIFO passes 4096,
    // and on a lost-events marker; all of those stay 'unanswered' but are no longer counted:
    // 6000 lost handlers are reported as 1.
    const t = neverAnswered(6000, 1000);
    const s = await analyzeTrace(['-'], { ingest: { stdin: Buffer.from(t.text()) }, policies: ['observed'] });
    expect(s.observed.remoteShootdowns.unansweredTargets).toBe(6000);
  }, 60_000);

  it('one request time-stamped in the future does not hold later policy events without bound', async () => {
    // A single corrupt timestamp (100 s -> 200 s) on a request whose target never answers: the
    // 2 s timeout compares `now - req.ts`, which stays negative, so only the model's cap on events
    // waiting behind an open request (outboxLimit: 8192 events on 4 CPUs) closes it.
    const t = new FtraceText(4);
    t.switchTo(0, app, -1).switchTo(1, app, -1);
    t.shootdown(0, 1, toCpu1, { pages: 1 });
    const glitch = new FtraceText(4, 200);
    glitch.queueOnly(0, 1, [{ cpu: 3, task: app, outcome: { kind: 'full' } }], { pages: 1 });
    const rest = new FtraceText(4, 100.001);
    const other = thread('other', 300, 300);
    for (let i = 0; i < 34_000; i++) {
      rest.switchTo(2, i % 2 ? app : other, -1);
      rest.shootdown(0, 1, toCpu1, { pages: 1 });
    }
    const body = (x: FtraceText) => x.text().split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    const text = [t.text().trimEnd(), ...body(glitch), ...body(rest)].join('\n') + '\n';
    const { max } = await streamModel(text, 4);
    expect(outboxLimit(4)).toBe(8192);
    expect(max.outbox).toBeGreaterThan(outboxLimit(4) - 100); // held: the timeout cannot see the glitch
    expect(max.outbox).toBeLessThanOrEqual(outboxLimit(4));
  }, 60_000);
});
