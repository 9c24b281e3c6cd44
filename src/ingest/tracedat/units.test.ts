// The pieces of the trace.dat reader on small hand-built inputs: ring-buffer page walking (both
// endiannesses, every entry type), kallsyms lookup (libtraceevent's bsearch over its sorted
// function map), comm names, format text.

import { describe, expect, it } from 'vitest';
import { fixedString } from './bytes.js';
import { CommTable } from './comms.js';
import { writeState } from './spec.js';
import { parseEventFormat, parseFieldLine, parseHeaderPage, type HeaderPage } from './format.js';
import { strtoll0 } from './header.js';
import { Kallsyms } from './kallsyms.js';
import { CpuCursor, type CpuStream, type StreamProblem } from './ringbuf.js';

const PAGE: HeaderPage = { tsOffset: 0, tsSize: 8, commitOffset: 8, commitSize: 8, dataOffset: 16, dataSize: 4080 };
const PAGE_SIZE = 4096;

/** Builds one ring-buffer page: u64 timestamp, u64 commit, entries (kernel ring_buffer layout). */
class PageBuilder {
  private readonly buf = Buffer.alloc(PAGE_SIZE);
  private pos = 16;
  constructor(
    private readonly le: boolean,
    ts: bigint,
  ) {
    if (le) this.buf.writeBigUInt64LE(ts, 0);
    else this.buf.writeBigUInt64BE(ts, 0);
  }
  private word(v: number): void {
    if (this.le) this.buf.writeUInt32LE(v >>> 0, this.pos);
    else this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }
  private header(typeLen: number, delta: number): void {
    // little endian: type_len in the low 5 bits; big endian: in the high 5 bits
    this.word(this.le ? (delta << 5) | typeLen : (typeLen << 27) | delta);
  }
  /** a record of `words` 32-bit words: type_len = words (1..28), or type_len 0 with a length word */
  record(delta: number, words: number, big = false): number {
    if (big) {
      this.header(0, delta);
      this.word(words * 4 + 4);
    } else this.header(words, delta);
    const at = this.pos;
    for (let i = 0; i < words; i++) this.word(0x11110000 + i);
    return at;
  }
  timeExtend(delta: number, upper: number): void {
    this.header(30, delta);
    this.word(upper);
  }
  absolute(delta: number, upper: number): void {
    this.header(31, delta);
    this.word(upper);
  }
  padding(delta: number, skip: number): void {
    this.header(29, delta);
    this.word(skip);
    this.pos += skip - 4;
  }
  done(flags = 0, lost?: bigint): Buffer {
    const size = this.pos - 16;
    const commit = BigInt((size | flags) >>> 0);
    if (this.le) this.buf.writeBigUInt64LE(commit, 8);
    else this.buf.writeBigUInt64BE(commit, 8);
    if (lost !== undefined) {
      if (this.le) this.buf.writeBigUInt64LE(lost, this.pos);
      else this.buf.writeBigUInt64BE(lost, this.pos);
    }
    return this.buf;
  }
}

function cursorOver(windows: Buffer[], le: boolean, problems: StreamProblem[] = []): CpuCursor {
  const queue = [...windows];
  const stream = { next: async () => queue.shift() ?? null } as unknown as CpuStream;
  return new CpuCursor(0, 3, stream, le, PAGE_SIZE, PAGE, 0, undefined, (p) => problems.push(p));
}

async function records(c: CpuCursor): Promise<[number, number, number, number][]> {
  const out: [number, number, number, number][] = [];
  if (!(await c.refill())) return out;
  for (;;) {
    out.push([c.recTs, c.recOff, c.recLen, c.lost]);
    c.lost = 0;
    if (!c.advance() && !(await c.refill())) return out;
  }
}

describe('ring-buffer pages (kbuffer-parse.c)', () => {
  for (const le of [true, false]) {
    it(`walks every entry type, ${le ? 'little' : 'big'} endian`, async () => {
      const p = new PageBuilder(le, 1_000_000n);
      const r1 = p.record(10, 2); // ts 1_000_010
      p.timeExtend(5, 1); // +2^27 + 5
      const r2 = p.record(3, 4); // ts 1_000_010 + 134217733 + 3
      p.padding(7, 12); // discarded event: its delta still counts
      const r3 = p.record(2, 40, true); // type_len 0: 160 bytes of data
      p.absolute(9, 2); // ts = 2 << 27 | 9
      const r4 = p.record(1, 1);
      const page2 = new PageBuilder(le, 5_000_000_000n);
      const r5 = page2.record(100, 3);
      const w = Buffer.concat([p.done(), page2.done()]);
      const got = await records(cursorOver([w], le));
      const t2 = 1_000_010 + 134217728 + 5 + 3;
      expect(got).toEqual([
        [1_000_010, r1, 8, 0],
        [t2, r2, 16, 0],
        [t2 + 7 + 2, r3, 160, 0],
        [2 * 134217728 + 9 + 1, r4, 4, 0],
        [5_000_000_100, PAGE_SIZE + r5, 12, 0],
      ]);
    });

    it(`reports lost events from the commit flags, ${le ? 'little' : 'big'} endian`, async () => {
      const a = new PageBuilder(le, 100n);
      a.record(1, 1);
      const b = new PageBuilder(le, 200n);
      b.record(1, 1);
      const c = new PageBuilder(le, 300n);
      c.record(1, 1);
      // bit 31: events missing before this page; bit 30: the count follows the data
      const w = Buffer.concat([a.done(), b.done(0xc0000000, 97270n), c.done(0x80000000)]);
      const got = await records(cursorOver([w], le));
      expect(got.map((r) => [r[0], r[3]])).toEqual([
        [101, 0],
        [201, 97270],
        [301, -1],
      ]);
    });
  }

  it('continues across windows and stops at a page whose commit size is impossible', async () => {
    const a = new PageBuilder(true, 10n);
    a.record(1, 1);
    const bad = Buffer.alloc(PAGE_SIZE);
    bad.writeBigUInt64LE(20n, 0);
    bad.writeBigUInt64LE(5000n, 8); // more data than a page holds
    const c = new PageBuilder(true, 30n);
    c.record(1, 1);
    const problems: StreamProblem[] = [];
    const got = await records(cursorOver([a.done(), Buffer.concat([bad, c.done()])], true, problems));
    expect(got.map((r) => r[0])).toEqual([11, 31]);
    expect(problems).toEqual([{ code: 'corrupt-data', message: expect.stringContaining('5000 bytes of data') }]);
  });

  it('keeps the records of a page cut short, up to the cut', async () => {
    const a = new PageBuilder(true, 10n);
    a.record(1, 1);
    const at = a.record(1, 2);
    a.record(1, 1);
    const cut = a.done().subarray(0, at + 8); // the third record is gone
    expect((await records(cursorOver([cut], true))).map((r) => r[0])).toEqual([11, 12]);
  });
});

describe('kallsyms (libtraceevent tep_parse_kallsyms / func_bcmp / bsearch)', () => {
  const text = [
    '0000000000000000 A fixed_percpu_data',
    'ffffffff81000000 T _stext',
    'ffffffff81000000 T _text',
    'ffffffff81001000 t $x.1',
    'ffffffff81001000 T alias_one',
    'ffffffff81001000 T alias_two',
    'ffffffff81002000 T on_each_cpu_cond_mask',
    '',
    'ffffffff81002060 T flush_tlb_func',
    'ffffffffc0a00000 t mod_func\t[kvm]',
  ].join('\n');
  const k = new Kallsyms(() => Buffer.from(text));

  it('resolves name+offset like %pS and name like %ps', () => {
    expect(k.count).toBe(7); // no absolute symbol, no '$' name
    expect(k.format(0xffffffff, 0x81002020, true)).toBe('on_each_cpu_cond_mask+0x20');
    expect(k.format(0xffffffff, 0x81002020, false)).toBe('on_each_cpu_cond_mask');
    expect(k.format(0xffffffff, 0x81002060, true)).toBe('flush_tlb_func+0x0');
    expect(k.format(0xffffffff, 0x81002061, true)).toBe('flush_tlb_func+0x1');
    expect(k.format(0xffffffff, 0xc0a00000, false)).toBe('mod_func');
  });

  it('picks among aliases the way the sorted map and glibc bsearch do', () => {
    // inside a run of aliases: the first in file order (the map holds them in reverse file order)
    expect(k.format(0xffffffff, 0x81001004, true)).toBe('alias_one+0x4');
    // an exact hit: wherever the binary search probes first (index 3 of 7 here)
    expect(k.format(0xffffffff, 0x81001000, true)).toBe('alias_one+0x0');
    expect(k.format(0xffffffff, 0x81000010, true)).toBe('_stext+0x10');
  });

  it('prints what trace-cmd prints for unresolved addresses', () => {
    expect(k.format(0, 0, true)).toBe('0x0'); // below the first symbol
    expect(k.format(0xffffffff, 0xc0a00001, true)).toBe('0xffffffffc0a00001'); // past the last symbol: exact match only
    expect(new Kallsyms(() => null).format(0xffffffff, 0x81002020, true)).toBe('0xffffffff81002020');
  });
});

describe('comm names (saved cmdlines + the sched_switch plugin)', () => {
  it('answers <idle>, the saved name, <...>, and registers new pids without overriding', () => {
    const t = new CommTable('1 systemd\n42 npm view cli-pr\n\n7 kworker/0:1-events\n');
    expect(t.lookup(0)).toBe('<idle>');
    expect(t.lookup(42)).toBe('npm view cli-pr');
    expect(t.lookup(7)).toBe('kworker/0:1-events');
    expect(t.lookup(99)).toBe('<...>');
    const v = t.version;
    t.register(42, 'other');
    t.register(0, 'swapper/0');
    expect(t.version).toBe(v);
    t.register(99, 'stress-ng');
    expect(t.lookup(99)).toBe('stress-ng');
    expect(t.version).toBe(v + 1);
  });

  it('reads comm bytes as the text formats do: UTF-8 kept, invalid bytes as \\xNN', () => {
    // `char comm[16]` of a task named with Latin-1 bytes, then a UTF-8 one, NUL-padded
    expect(fixedString(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0, 0x41]), 0, 6)).toBe('caf\\xe9');
    expect(fixedString(Buffer.from('naïve\0\0', 'utf8'), 0, 8)).toBe('naïve');
    expect(fixedString(Buffer.from('bash\0xx', 'latin1'), 0, 7)).toBe('bash');
  });
});

describe('format text', () => {
  it('parses field declarations', () => {
    expect(parseFieldLine('\tfield:__data_loc cpumask_t cpumask;\toffset:8;\tsize:4;\tsigned:0;')).toEqual({
      name: 'cpumask', type: '__data_loc cpumask_t', offset: 8, size: 4, signed: false, dynamic: 'data_loc', arrayLen: -1,
    });
    expect(parseFieldLine('\tfield:unsigned long args[6];\toffset:16;\tsize:48;\tsigned:0;')).toMatchObject({ name: 'args', arrayLen: 6, size: 48 });
    expect(parseFieldLine('\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:1;')).toMatchObject({ name: 'prev_comm', arrayLen: 16, signed: true });
    expect(parseFieldLine('\tfield:__rel_loc char[] msg;\toffset:8;\tsize:4;\tsigned:0;')).toMatchObject({ name: 'msg', dynamic: 'rel_loc' });
    expect(parseFieldLine('\tfield:void * callsite;\toffset:16;\tsize:8;\tsigned:0;')).toMatchObject({ name: 'callsite', type: 'void *' });
    expect(parseFieldLine('print fmt: "x"')).toBeNull();
  });

  it('reads name and id first, fields on demand', () => {
    const f = parseEventFormat('name: tlb_flush\nID: 684\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:int reason;\toffset:8;\tsize:4;\tsigned:1;\n\nprint fmt: "pages:%ld"\n', 'tlb')!;
    expect([f.id, f.name, f.system]).toEqual([684, 'tlb_flush', 'tlb']);
    expect(f.byName.get('reason')).toMatchObject({ offset: 8, size: 4, signed: true });
    expect(parseEventFormat('ID: 3\n', 'x')).toBeNull();
  });

  it('parses header_page', () => {
    const text = '\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n';
    expect(parseHeaderPage(text)).toEqual(PAGE);
    expect(parseHeaderPage('field: u64 timestamp; offset:0; size:8; signed:0;')).toBeNull();
  });

  it('strtoll(s, NULL, 0) for the DATE/OFFSET options', () => {
    expect(strtoll0('0x10')).toBe(16);
    expect(strtoll0('-42')).toBe(-42);
    expect(strtoll0('010')).toBe(8);
    expect(strtoll0('junk')).toBe(0);
  });
});

describe('sched_switch prev_state', () => {
  it('is the kernel letter for each of the low 8 bits, joined by |, R when none', () => {
    expect(writeState(0)).toBe('R');
    expect(writeState(1)).toBe('S');
    expect(writeState(2)).toBe('D');
    expect(writeState(0x80)).toBe('I'); // plugin prints W
    expect(writeState(0x10)).toBe('X'); // plugin prints Z
    expect(writeState(0x20)).toBe('Z'); // plugin prints X
    expect(writeState(0x101)).toBe('S'); // preemption bit not printed by trace-cmd
    expect(writeState(0x3)).toBe('S|D');
  });
});
