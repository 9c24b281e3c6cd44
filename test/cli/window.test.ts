// `analyze --from/--to`: only the events of a time window are analyzed, in every format alike.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyzeTrace } from '../../src/pipeline/analyze.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/tlbtrace', import.meta.url));
const CAPTURE = `${ROOT}fixtures/native-6.18-2cpu/mt-mixed`;

describe('a time window', () => {
  it('analyzes the events from --from to --to only, the same from text and trace.dat', async () => {
    // Independently: zcat ftrace.txt.gz | grep -v '^#' | awk '{ for (i = 1; i <= NF; i++) if ($i ~
    //   /^[0-9]+\.[0-9]+:$/) { t = $i + 0; if (t >= 1354.2 && t <= 1354.4) n++; break } } END { print n }'
    //   -> 18343 events (of 33,429), the first at 1354.200093, the last at 1354.399864.
    const window = { from: 1354.2, to: 1354.4 };
    const text = await analyzeTrace([`${CAPTURE}/ftrace.txt.gz`], { window, policies: ['batched'] });
    const dat = await analyzeTrace([`${CAPTURE}/trace.dat`], { window, policies: ['batched'] });
    expect(text.input).toMatchObject({ events: 18343, firstTs: 1354.200093, lastTs: 1354.399864, window: { from: 1354.2, to: 1354.4 } });
    expect(dat.input.events).toBe(18343);
    expect(dat.observed.remoteShootdowns.total).toBe(text.observed.remoteShootdowns.total);
    expect(dat.policies.batched!.shootdowns).toBe(text.policies.batched!.shootdowns);
    const whole = await analyzeTrace([`${CAPTURE}/ftrace.txt.gz`], { policies: ['batched'] });
    expect(whole.input.window).toBeUndefined();
    expect(text.observed.remoteShootdowns.total).toBeLessThan(whole.observed.remoteShootdowns.total);
  });

  it('says so in the terminal summary, and refuses a window that ends before it starts', () => {
    const ok = spawnSync(process.execPath, [BIN, 'analyze', `${CAPTURE}/ftrace.txt.gz`, '--to', '1354.3', '--no-progress'], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/only the events from the start to 1354\.3 s were analyzed/);
    const bad = spawnSync(process.execPath, [BIN, 'analyze', `${CAPTURE}/ftrace.txt.gz`, '--from', '2', '--to', '1'], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--from is after --to/);
    const nan = spawnSync(process.execPath, [BIN, 'analyze', `${CAPTURE}/ftrace.txt.gz`, '--to', 'soon'], { encoding: 'utf8' });
    expect(nan.stderr).toMatch(/--to must be a time in seconds/);
  });
});
