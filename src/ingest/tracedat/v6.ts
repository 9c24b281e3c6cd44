// trace.dat version 6: after the initial format everything is sequential (trace-cmd.dat.v6.5.txt,
// trace-input.c read_headers_v6()): header_page, header_event, ftrace and event formats,
// kallsyms, printk formats, saved cmdlines, the CPU count, options, then "flyrecord" and a table of
// each CPU's data offset and size.

import { decodeUtf8Escaped } from '../lines.js';
import { RandomAccessFile, SequentialReader } from './file.js';
import { parseEventFormat, type EventFormat } from './format.js';
import { u64, viewOf } from './bytes.js';
import { applyHeaderTexts, applyOption, Cur, fail, finish, Opt, type Base, type CpuDataRef, type OptionState, type TraceDatInfo } from './sections.js';

export async function readV6(file: RandomAccessFile, start: number, base: Base): Promise<TraceDatInfo> {
  const r = new SequentialReader(file, start);
  const le = base.littleEndian;
  const take = async (n: number, what: string): Promise<Buffer> => {
    if (!Number.isSafeInteger(n) || n < 0) fail(`corrupt header: bad size ${n} for ${what}`);
    const b = await r.take(n);
    if (b.length < n) fail(`truncated header: expected ${n} bytes of ${what} at offset ${r.position - b.length}, the file ends first`);
    return b;
  };
  const num = async (n: 4 | 8 | 2, what: string): Promise<number> => {
    const b = await take(n, what);
    const d = viewOf(b);
    return n === 2 ? d.getUint16(0, le) : n === 4 ? d.getUint32(0, le) : u64(d, 0, le);
  };
  const st: OptionState = { info: { notes: [], tsOffset: 0 }, sections: new Map(), nextOptions: [] };
  const formats: EventFormat[] = [];

  // header_page / header_event
  if ((await take(12, '"header_page" tag')).toString('latin1') !== 'header_page\0') fail('corrupt header: expected "header_page" after the initial format');
  const hpText = (await take(await num(8, 'header_page size'), 'header_page')).toString('utf8');
  if ((await take(13, '"header_event" tag')).toString('latin1') !== 'header_event\0') fail('corrupt header: expected "header_event" after header_page');
  const heText = (await take(await num(8, 'header_event size'), 'header_event')).toString('utf8');
  applyHeaderTexts(hpText, heText, 'header info', st);

  // ftrace formats
  const nFtrace = await num(4, 'ftrace format count');
  for (let i = 0; i < nFtrace; i++) {
    const f = parseEventFormat((await take(await num(8, 'format size'), 'ftrace format')).toString('utf8'), 'ftrace');
    if (f) formats.push(f);
  }
  // event formats
  const nSys = await num(4, 'event system count');
  for (let s = 0; s < nSys; s++) {
    const system = await r.cstring();
    if (system === null) fail(`truncated header: expected an event system name at offset ${r.position}`);
    const n = await num(4, 'event count');
    for (let i = 0; i < n; i++) {
      const f = parseEventFormat((await take(await num(8, 'format size'), `${system} format`)).toString('utf8'), system);
      if (f) formats.push(f);
    }
  }
  const kallsyms = await take(await num(4, 'kallsyms size'), 'kallsyms');
  await take(await num(4, 'printk formats size'), 'printk formats');
  const cmdlines = decodeUtf8Escaped(await take(await num(8, 'saved cmdlines size'), 'saved cmdlines'));
  const cpus = await num(4, 'cpu count');
  let tag = (await take(10, '"options"/"flyrecord" tag')).toString('latin1');
  const optionIds: number[] = [];
  if (tag.startsWith('options')) {
    // options: id (2), size (4), data; id 0 ends the list
    for (;;) {
      const id = await num(2, 'option id');
      if (id === Opt.Done) break;
      optionIds.push(id);
      const size = await num(4, 'option size');
      const data = await take(size, `option ${id}`);
      applyOption(id, new Cur(Buffer.from(data), le, `option ${id}`), false, st);
    }
    tag = (await take(10, '"latency"/"flyrecord" tag')).toString('latin1');
  }
  if (tag.startsWith('latency')) fail('latency (text) trace.dat files are not supported: no binary event data');
  if (!tag.startsWith('flyrecord')) fail(`corrupt header: expected "flyrecord" at offset ${r.position - 10}, found ${JSON.stringify(tag)}`);
  const cpuTableOffset = r.position;
  const cpuData: CpuDataRef[] = [];
  for (let cpu = 0; cpu < cpus; cpu++) {
    const offset = await num(8, 'cpu data offset');
    const size = await num(8, 'cpu data size');
    cpuData.push({ cpu, offset, size });
  }
  const truncated = cpuData.some((c) => c.size > 0 && c.offset + c.size > file.size);
  return finish(base, st, formats, {
    kallsyms: kallsyms.length ? ((k) => () => k)(Buffer.from(kallsyms)) : () => null,
    cmdlines,
    cpuData,
    cpuCount: st.info.cpuCount ?? cpus,
    truncated,
    v6Layout: { cpuTableOffset, optionIds },
  });
}
