import { describe, expect, it } from 'vitest';
import { findTimestamp, indexText, writeCopies } from './concat.js';

const REPORT = [
  'cpus=2',
  '            bash-8144  [000]   241.875865: tlb_flush:            pages=-1 reason=local mm shootdown (3)',
  '     npm install vit-8034  [001]   241.878624: sched_switch:         npm install vit:8034 [120] S ==> stress-ng:8153 [120]',
  'CPU:0 [97270 EVENTS DROPPED]',
  '     stress-ng-munma-11376 [001]   243.588577: sys_enter_munmap:     addr: 0x7f5d59df3000, len: 0x00001000',
  '',
].join('\n');

const FTRACE = [
  '# tracer: nop',
  '#',
  '#           TASK-PID     TGID     CPU#  |||||  TIMESTAMP  FUNCTION',
  '            bash-5922    (   5922) [001] d..2.   9.569749: tlb_flush: pages=-1 reason=local mm shootdown (3)',
  '            bash-5922    (   5922) [001] .....  10.569757: sched_process_fork: comm=bash pid=5922 child_comm=bash child_pid=5953',
  '',
].join('\n');

async function copies(text: string, n: number, chunkSize?: number): Promise<string> {
  const parts: Buffer[] = [];
  await writeCopies(indexText(Buffer.from(text)), n, (c) => void parts.push(Buffer.from(c)), chunkSize);
  return Buffer.concat(parts).toString();
}

describe('bench stream generator', () => {
  it('finds the timestamp after the [CPU] column, with or without a flags column', () => {
    const dot = new Float64Array(1);
    for (const line of [REPORT.split('\n')[2]!, FTRACE.split('\n')[3]!]) {
      const b = Buffer.from(line);
      const s = findTimestamp(b, 0, b.length, dot);
      expect(s).toBeGreaterThan(0);
      expect(b.subarray(s, dot[0]! + 7).toString()).toMatch(/^\d+\.\d{6}$/);
    }
    const lost = Buffer.from('CPU:0 [97270 EVENTS DROPPED]');
    expect(findTimestamp(lost, 0, lost.length, dot)).toBe(-1);
  });

  it('one copy is the input byte for byte', async () => {
    expect(await copies(REPORT, 1)).toBe(REPORT);
    expect(await copies(FTRACE, 1, 7)).toBe(FTRACE);
  });

  it('later copies drop the header and shift whole seconds past the previous copy', async () => {
    const out = (await copies(REPORT, 3, 16)).split('\n');
    expect(out.filter((l) => l.startsWith('cpus=')).length).toBe(1);
    const ts = out.map((l) => /\] +(\d+\.\d+):/.exec(l)?.[1]).filter((x): x is string => x !== undefined).map(Number);
    // 241..243 -> shift 3 s per copy
    expect(ts).toEqual([241.875865, 241.878624, 243.588577, 244.875865, 244.878624, 246.588577, 247.875865, 247.878624, 249.588577]);
    expect(out.filter((l) => l.includes('EVENTS DROPPED')).length).toBe(3);
  });

  it('keeps the column when the seconds gain a digit', async () => {
    const out = (await copies(FTRACE, 2)).split('\n');
    expect(out[5]).toBe('            bash-5922    (   5922) [001] d..2.  11.569749: tlb_flush: pages=-1 reason=local mm shootdown (3)');
    expect(out[6]).toBe('            bash-5922    (   5922) [001] .....  12.569757: sched_process_fork: comm=bash pid=5922 child_comm=bash child_pid=5953');
  });
});
