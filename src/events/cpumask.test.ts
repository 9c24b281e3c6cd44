import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cpumaskOutOfRange, detectCpumaskStyle, MAX_CPUS, parseCpuList, parseCpumask, parseCpumaskHex } from './cpumask.js';

describe('parseCpumaskHex', () => {
  it('reads the kernel %*pb printing (32-bit words, most significant first)', () => {
    // qemu-6.12-16cpu/mt-munmap ftrace: cpumask=00000000,000056be  ==  trace-cmd 1-5,7,9-10,12,14
    expect(parseCpumaskHex('00000000,000056be')).toEqual([1, 2, 3, 4, 5, 7, 9, 10, 12, 14]);
    expect(parseCpumaskHex('00000000,00000031')).toEqual([0, 4, 5]);
    expect(parseCpumaskHex('00000000,00000000')).toEqual([]);
  });

  it('places bits of the upper words and short leading words correctly', () => {
    expect(parseCpumaskHex('00000001,00000000')).toEqual([32]);
    expect(parseCpumaskHex('3,80000000')).toEqual([31, 32, 33]);
    expect(parseCpumaskHex('0x00000003')).toEqual([0, 1]);
    expect(parseCpumaskHex('100000000')).toEqual([32]); // unseparated 9-digit number
  });

  it('handles a 4096-CPU mask (128 words)', () => {
    const words = Array.from({ length: 128 }, () => '00000000');
    words[0] = '80000000'; // CPU 4095
    words[127] = '00000001'; // CPU 0
    words[64] = 'ffffffff'; // word 63 from the right: CPUs 2016..2047
    const cpus = parseCpumaskHex(words.join(','));
    const expected = [0, ...Array.from({ length: 32 }, (_, i) => 2016 + i), 4095];
    expect(cpus).toEqual(expected);
  });

  it('rejects non-hex characters', () => {
    expect(parseCpumaskHex('0000000g,00000000')).toBeNull();
    expect(parseCpumaskHex('1-3')).toBeNull();
  });
});

describe('parseCpuList', () => {
  it('reads libtraceevent CPU lists', () => {
    expect(parseCpuList('1-5,7,9-10,12,14')).toEqual([1, 2, 3, 4, 5, 7, 9, 10, 12, 14]);
    expect(parseCpuList('0,4-5')).toEqual([0, 4, 5]);
    expect(parseCpuList('3')).toEqual([3]);
    expect(parseCpuList('')).toEqual([]);
    expect(parseCpuList('0-4095')).toHaveLength(4096);
  });

  it('sorts and de-duplicates unordered lists', () => {
    expect(parseCpuList('5,1-3,2')).toEqual([1, 2, 3, 5]);
  });

  it('rejects syntax errors', () => {
    expect(parseCpuList('1,')).toBeNull();
    expect(parseCpuList('3-1')).toBeNull();
    expect(parseCpuList('a')).toBeNull();
    expect(parseCpuList('1--2')).toBeNull();
  });
});

describe('detectCpumaskStyle / parseCpumask', () => {
  it('tells the printings apart', () => {
    expect(detectCpumaskStyle('00000000,000056be')).toBe('hex');
    expect(detectCpumaskStyle('00000000,00000031')).toBe('hex');
    expect(detectCpumaskStyle('1-5,7')).toBe('list');
    expect(detectCpumaskStyle('0,4')).toBe('list');
    expect(detectCpumaskStyle('ff')).toBe('hex');
  });

  it('hex words and CPU list of the same set agree (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 4095 }), { maxLength: 64 }), (set) => {
        const cpus = [...set].sort((a, b) => a - b);
        const words = new Uint32Array(128);
        for (const c of cpus) words[c >> 5]! |= 1 << (c & 31);
        const hex = [...words].reverse().map((w) => w.toString(16).padStart(8, '0')).join(',');
        const list = cpus.join(',');
        expect(parseCpumask(hex, 0, hex.length, 'auto')).toEqual(cpus);
        expect(parseCpumask(list, 0, list.length, 'list')).toEqual(cpus);
      }),
    );
  });
});

describe('CPU number limits (hostile input)', () => {
  it('a CPU at or beyond the limit makes the mask invalid and says which', () => {
    expect(parseCpuList('0-3', 0, 3, 4)).toEqual([0, 1, 2, 3]);
    expect(parseCpuList('0-4', 0, 3, 4)).toBeNull();
    expect(cpumaskOutOfRange).toBe(4);
    expect(parseCpuList('1,0-4000000000')).toBeNull(); // rejected before the range is expanded
    expect(cpumaskOutOfRange).toBe(4000000000);
    expect(parseCpumaskHex('00000000,00000010', 0, 17, 4)).toBeNull();
    expect(cpumaskOutOfRange).toBe(4);
    expect(parseCpumaskHex('00000000,0000000f', 0, 17, 4)).toEqual([0, 1, 2, 3]);
    expect(cpumaskOutOfRange).toBe(-1);
    expect(parseCpumaskHex('f'.repeat(100_000))).toBeNull(); // 400 000 bits: stops at MAX_CPUS
    expect(cpumaskOutOfRange).toBeGreaterThanOrEqual(MAX_CPUS);
  });

  it('overlapping and unordered ranges are merged, however many', () => {
    expect(parseCpuList('5-9,0-6,2')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const many = Array(100_000).fill('0-8191').join(',');
    const t = Date.now();
    expect(parseCpuList(many)).toHaveLength(8192);
    expect(Date.now() - t).toBeLessThan(2000);
  });
});
