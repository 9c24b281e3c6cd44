// The text ingest hands the model batches of rows (src/events/batch.ts), and the model takes the
// entries after the first of a run of syscall entries on a short path (src/model/syscall-run.ts).
// The same events given as objects, one by one through the full path, must give the same
// summary, every number of it, and hand the policies the same stream of model events, field by
// field (a syscall entry's time and arguments included): checked on every text fixture (real
// recordings, each format).

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Diagnostics } from '../ingest/diagnostics.js';
import { openTrace } from '../ingest/index.js';
import type { TraceSource } from '../ingest/source.js';
import type { ModelEvent } from '../model/types.js';
import { analyzeSource } from './analyze.js';
import type { EventSink } from './sink.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

function textFixtures(): string[] {
  const out: string[] = [];
  for (const set of readdirSync(FIXTURES, { withFileTypes: true })) {
    if (!set.isDirectory()) continue;
    for (const cap of readdirSync(join(FIXTURES, set.name), { withFileTypes: true })) {
      if (!cap.isDirectory()) continue;
      for (const f of readdirSync(join(FIXTURES, set.name, cap.name))) {
        if (/^(ftrace|trace-cmd-report|perf-script)\.txt\.gz$/.test(f)) out.push(`${set.name}/${cap.name}/${f}`);
      }
    }
  }
  return out.sort();
}

/** the source with its rows hidden: the model gets event objects (trace.dat's way) */
function asObjects(src: TraceSource): TraceSource {
  return { meta: src.meta, events: () => src.events() };
}

/** every model event as text, as a policy sees it */
function recorder(): { sink: EventSink; lines: string[] } {
  const lines: string[] = [];
  const sink: EventSink = {
    start() {},
    onEvent(ev: ModelEvent) {
      if (ev.type === 'syscall') {
        const e = ev.e;
        lines.push(`syscall ${ev.ts} ${ev.cpu} ${ev.mm} ${ev.every} ${e.pid} ${e.name} ${e.ts} ${e.line} ${JSON.stringify(e.args)}`);
      } else if (ev.type === 'request') lines.push(`request ${ev.req.id} ${ev.req.ts} ${ev.req.mm} ${ev.req.cause} ${ev.req.targets.length}`);
      else lines.push(JSON.stringify(ev));
    },
    async finish() {},
  };
  return { sink, lines };
}

describe('rows and runs give what event objects give', () => {
  const files = textFixtures();
  it('finds the text fixtures', () => expect(files.length).toBeGreaterThanOrEqual(10));
  for (const f of files) {
    it(f, async () => {
      const path = join(FIXTURES, f);
      const rowsDiag = new Diagnostics();
      const rowsSeen = recorder();
      const rows = await analyzeSource(await openTrace([path], {}, rowsDiag), rowsDiag, { sinks: [rowsSeen.sink] });
      const objDiag = new Diagnostics();
      const objSeen = recorder();
      const objects = await analyzeSource(asObjects(await openTrace([path], {}, objDiag)), objDiag, { sinks: [objSeen.sink] });
      expect(rows.input.events).toBeGreaterThan(0);
      expect(JSON.stringify(rows)).toBe(JSON.stringify(objects));
      expect(rowsSeen.lines.length).toBeGreaterThan(0);
      expect(rowsSeen.lines).toEqual(objSeen.lines);
    });
  }
});
