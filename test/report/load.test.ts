import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSummary } from '../../src/report/load.js';
import { InputError } from '../../src/errors.js';
import { sampleSummary } from './sample-summary.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tlbtrace-load-'));
});

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

async function failure(path: string): Promise<InputError> {
  const err = await loadSummary(path).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InputError);
  return err as InputError;
}

describe('loadSummary', () => {
  it('round-trips a valid summary', async () => {
    const s = sampleSummary();
    const p = await file('ok.json', JSON.stringify(s));
    expect(await loadSummary(p)).toEqual(s);
  });

  it('rejects a wrong schema value, naming the file and both schemas', async () => {
    const p = await file('foreign.json', JSON.stringify({ ...sampleSummary(), schema: 'speedscope/0.1' }));
    const e = await failure(p);
    expect(e.message).toContain(p);
    expect(e.message).toContain('unsupported summary schema "speedscope/0.1", expected "tlbtrace.summary/1"');
  });

  it('tells an older or newer tlbtrace summary apart', async () => {
    expect((await failure(await file('old.json', JSON.stringify({ schema: 'tlbtrace.summary/0' })))).message).toMatch(/older tlbtrace/);
    expect((await failure(await file('new.json', JSON.stringify({ schema: 'tlbtrace.summary/2' })))).message).toMatch(/newer tlbtrace; upgrade/);
  });

  it('rejects JSON that is not a summary at all', async () => {
    expect((await failure(await file('noschema.json', '{"traceEvents": []}'))).message).toMatch(/no "schema" field/);
    expect((await failure(await file('array.json', '[1,2]'))).message).toMatch(/the JSON is an array, expected an object/);
  });

  it('names the path of a missing or mistyped field', async () => {
    const s = sampleSummary() as unknown as { observed: { remoteShootdowns: Record<string, unknown> }; input: Record<string, unknown> };
    delete s.observed.remoteShootdowns['total'];
    s.input['cpus'] = 'two';
    const e = await failure(await file('missing.json', JSON.stringify(s)));
    expect(e.message).toContain('observed.remoteShootdowns.total');
    expect(e.message).toContain('input.cpus');
    expect(e.message).toMatch(/invalid tlbtrace\.summary\/1 summary/);
  });

  it('rejects corrupt or empty JSON, and a trace passed by mistake', async () => {
    const corrupt = await failure(await file('corrupt.json', JSON.stringify(sampleSummary()).slice(0, 500)));
    expect(corrupt.message).toMatch(/cannot read summary: not valid JSON/);
    expect((await failure(await file('empty.json', ''))).message).toMatch(/the file is empty/);
    const trace = await failure(await file('trace.txt', '# tracer: nop\n bash-5965 [000] 223.619319: tlb_flush: pages:-1 reason:remote IPI send (4)\n'));
    expect(trace.message).toMatch(/if this is a trace, make a summary with `tlbtrace analyze/);
  });

  it('reports a missing file as an InputError, not a crash', async () => {
    expect((await failure(join(dir, 'nope.json'))).message).toMatch(/nope\.json: cannot read summary: no such file/);
  });
});
