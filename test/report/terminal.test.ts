import { describe, expect, it } from 'vitest';
import { renderTerminal, columns } from '../../src/report/terminal.js';
import { visible } from '../../src/report/format.js';
import { CONTROL_COMM, sampleSummary } from './sample-summary.js';

describe('renderTerminal', () => {
  const s = sampleSummary();

  it('without colour: no escape sequence at all, even from hostile comms and warning messages', () => {
    const hostile = sampleSummary();
    hostile.observed.topMms[0]!.comm = CONTROL_COMM;
    hostile.input.files = ['trace\u202e.txt'];
    const out = renderTerminal(hostile, { color: false });
    expect(out).toContain('trace\\u202e.txt');
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/); // only \n allowed
    expect(out).toContain(visible(CONTROL_COMM)); // shown, made visible: evil\x1b[31mred\x07
    expect(out).toContain('\\x1b]0;pwned\\x07'); // the warning message, made visible
  });

  it('with colour: ANSI SGR codes only, and the risk words coloured', () => {
    const out = renderTerminal(s, { color: true });
    const escapes = out.match(/\x1b[^m]*m/g) ?? [];
    expect(escapes.length).toBeGreaterThan(5);
    expect(escapes.every((e) => /^\x1b\[\d+m$/.test(e))).toBe(true);
    expect(out).toContain('\x1b[32msafe\x1b[0m');
    expect(out).toContain('\x1b[33march-dependent\x1b[0m');
    expect(out).toContain('\x1b[31munsafe\x1b[0m');
    // stripping the codes gives the plain rendering
    expect(out.replace(/\x1b\[\d+m/g, '')).toBe(renderTerminal(s, { color: false }));
  });

  it('has the capture line, observed block and policy table', () => {
    const out = renderTerminal(s, { color: false });
    expect(out).toMatch(/^capture {2}ftrace, 2 CPUs, 12\.500 s, 184,233 events/m);
    expect(out).toMatch(/CPU 1: history starts at \+0\.600 s/);
    expect(out).toMatch(/^ {2}remote shootdowns +3,900 +312\/s/m);
    expect(out).toMatch(/received: CPU0 1,800, CPU1 2,100/);
    expect(out).toMatch(/^ {2}IPIs +4,300 +344\/s/m);
    expect(out).toMatch(/^ {2}wasted +1,620 +130\/s +40\.3% of 4,020 remote TLB callbacks/m);
    expect(out).toMatch(/^ +5 remote wrong CPU +1,700/m);
    expect(out).toMatch(/IPI targets 98\.2% of 4,100; switch-in flushes 99\.4% of 8,000/);
    expect(out).toMatch(/^ {2}p2-targeted-ipi +2,808 +3,096 +28\.0% +28\.0% +safe$/m);
    expect(out).toMatch(/^ {2}p4b-defer-running +1,092 +1,204 +72\.0% +72\.0% +unsafe$/m);
  });

  it('lays out columns by code point', () => {
    expect(columns([['a', '1', 'x'], ['bbb', '22', 'yy']], 'lrl')).toEqual(['a     1  x', 'bbb  22  yy']);
  });
});
