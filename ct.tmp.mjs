import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
const p = await b.newPage();
await p.goto('file:///tmp/catapult-viewer.html');
await p.waitForFunction(() => typeof tr !== 'undefined' && tr.Model !== undefined);
const t0 = Date.now();
const r = await p.evaluate((json) => {
  const m = new tr.Model();
  const i = new tr.importer.Import(m, new tr.importer.ImportOptions());
  i.importTraces([json]);
  let slices = 0, counters = 0;
  for (const t of m.getAllThreads()) slices += t.sliceGroup.slices.length;
  for (const p of Object.values(m.processes)) counters += Object.keys(p.counters).length;
  return { flows: m.flowEvents.length, warnings: m.importWarnings.map(w => w.type + ': ' + w.message).slice(0, 10), nwarn: m.importWarnings.length, threads: m.getAllThreads().length, slices, counters, processes: Object.values(m.processes).map(p => p.name) };
}, readFileSync(process.argv[2], 'utf8'));
console.log(JSON.stringify(r), (Date.now() - t0) + 'ms');
await b.close();
