// Payload parsers on real payloads from ../shared/traces (file named in each case). The header is
// a fixed stub: the grammars that find it are tested in src/ingest/formats.test.ts.

import { describe, expect, it } from 'vitest';
import { EVENT_FAMILIES } from './catalogue.js';
import { newPayloadContext, parsePayload, X86_64_SYSCALLS, type ParsedHeader, type PayloadContext } from './payloads.js';
import type { TraceEvent } from './types.js';

const H: ParsedHeader = { ts: 1, cpu: 0, pid: 42, tgid: 42, comm: 'x', hardirq: false, line: 7, payloadStyle: 0 };

function parse(name: string, payload: string, ctx: PayloadContext = newPayloadContext('auto'), style = 0): TraceEvent | string {
  return parsePayload(name, payload, 0, { ...H, payloadStyle: style }, ctx);
}

function ok(name: string, payload: string, ctx?: PayloadContext, style = 0): Record<string, unknown> {
  const e = parse(name, payload, ctx, style);
  if (typeof e === 'string') throw new Error(`unexpected parse failure: ${e}`);
  const { ts, cpu, pid, tgid, comm, hardirq, line, ...rest } = e as unknown as Record<string, unknown>;
  expect({ ts, cpu, pid, tgid, comm, hardirq, line }).toEqual({ ts: 1, cpu: 0, pid: 42, tgid: 42, comm: 'x', hardirq: false, line: 7 });
  return rest;
}

describe('tlb_flush', () => {
  it('takes the reason from the trailing (N) in every printing', () => {
    // raw ftrace 6.18 (mt-mixed), trace-cmd plugin (mt-mixed), 6.1 lower case (qemu-6.1-8cpu)
    expect(ok('tlb_flush', 'pages:-1 reason:remote IPI send (4)')).toEqual({ kind: 'tlb_flush', reason: 4, pages: -1 });
    expect(ok('tlb_flush', 'pages=-1 reason= (4)')).toEqual({ kind: 'tlb_flush', reason: 4, pages: -1 });
    expect(ok('tlb_flush', 'pages=0 reason= (5)')).toEqual({ kind: 'tlb_flush', reason: 5, pages: 0 });
    expect(ok('tlb_flush', 'pages:1 reason:local mm shootdown (3)')).toEqual({ kind: 'tlb_flush', reason: 3, pages: 1 });
    // 6.18 before commit 8b62e64e6d30 (DOMAIN.md §1)
    expect(ok('tlb_flush', 'pages:0 reason:0x5 (5)')).toEqual({ kind: 'tlb_flush', reason: 5, pages: 0 });
    expect(ok('tlb_flush', 'pages:512 reason:remote shootdown (1)  ')).toEqual({ kind: 'tlb_flush', reason: 1, pages: 512 });
  });

  it('reports what was expected when the payload is wrong', () => {
    expect(parse('tlb_flush', 'pages:-1 reason:remote IPI send')).toMatch(/trailing `\(reason number\)`/);
    expect(parse('tlb_flush', 'reason:remote IPI send (4)')).toMatch(/pages/);
    expect(parse('tlb_flush', 'pages:x reason: (4)')).toMatch(/number/);
    expect(parse('tlb_flush', 'pages:1 reason:foo (x)')).toMatch(/reason number/);
  });
});

describe('ipi_send_cpu / ipi_send_cpumask', () => {
  it('normalises symbols: no /size suffix', () => {
    const raw = 'cpu=1 callsite=on_each_cpu_cond_mask+0x20/0x60 callback=generic_smp_call_function_single_interrupt+0x0/0x10';
    const tc = 'cpu=1 callsite=on_each_cpu_cond_mask+0x20 callback=generic_smp_call_function_single_interrupt+0x0';
    const want = {
      kind: 'ipi_send_cpu', target: 1, callsite: 'on_each_cpu_cond_mask+0x20', callback: 'generic_smp_call_function_single_interrupt+0x0',
    };
    expect(ok('ipi_send_cpu', raw)).toEqual(want);
    expect(ok('ipi_send_cpu', tc)).toEqual(want);
    expect(ok('ipi_send_cpu', 'cpu=1 callsite=wakeup_preempt+0x37 callback=0x0')).toMatchObject({ callback: '0x0' });
    expect(ok('ipi_send_cpu', 'cpu=3 callsite=foo+0x1/0x8 [kvm] callback=bar+0x0/0x4 [kvm]')).toMatchObject({ callsite: 'foo+0x1', callback: 'bar+0x0' });
  });

  it('reads both cpumask printings (qemu-6.12-16cpu/mt-munmap)', () => {
    const raw = 'cpumask=00000000,000056be callsite=on_each_cpu_cond_mask+0x24/0x40 callback=generic_smp_call_function_single_interrupt+0x0/0x20';
    const tc = 'cpumask=1-5,7,9-10,12,14 callsite=on_each_cpu_cond_mask+0x24 callback=generic_smp_call_function_single_interrupt+0x0';
    const a = ok('ipi_send_cpumask', raw, newPayloadContext('hex'));
    const b = ok('ipi_send_cpumask', tc, newPayloadContext('auto'));
    expect(a).toEqual(b);
    expect(a.targets).toEqual([1, 2, 3, 4, 5, 7, 9, 10, 12, 14]);
  });

  it('rejects a bad mask or missing fields', () => {
    expect(parse('ipi_send_cpumask', 'cpumask=zz callsite=a callback=b', newPayloadContext('hex'))).toMatch(/cpumask/);
    expect(parse('ipi_send_cpu', 'cpu=1 callsite=foo')).toMatch(/callback/);
    expect(parse('ipi_send_cpu', 'target=1')).toMatch(/cpu=N/);
  });
});

describe('csd events', () => {
  it('normalises pointers (hashed, raw, NULL)', () => {
    expect(ok('csd_queue_cpu', 'cpu=1 callsite=on_each_cpu_cond_mask+0x20/0x60 func=flush_tlb_func csd=0000000069199808')).toEqual({
      kind: 'csd_queue_cpu', target: 1, callsite: 'on_each_cpu_cond_mask+0x20', func: 'flush_tlb_func', csd: '69199808',
    });
    expect(ok('csd_queue_cpu', 'cpu=1 callsite=on_each_cpu_cond_mask+0x20 func=flush_tlb_func csd=0xffff888627d2e420')).toMatchObject({
      csd: 'ffff888627d2e420',
    });
    expect(ok('csd_function_entry', 'func=flush_tlb_func, csd=0000000000000000')).toEqual({ kind: 'csd_function_entry', func: 'flush_tlb_func', csd: null });
    expect(ok('csd_function_exit', 'func=flush_tlb_func, csd=(nil)')).toEqual({ kind: 'csd_function_exit', func: 'flush_tlb_func', csd: null });
    expect(ok('csd_function_entry', 'func=nohz_csd_func, csd=0xFF1F7648BDB36080')).toMatchObject({ csd: 'ff1f7648bdb36080' });
    expect(ok('csd_function_entry', 'func=x, csd=0x0')).toMatchObject({ csd: null });
  });

  it('rejects a non-pointer csd', () => {
    expect(parse('csd_function_entry', 'func=flush_tlb_func, csd=nope')).toMatch(/pointer/);
    expect(parse('csd_queue_cpu', 'cpu=1 callsite=a func=b')).toMatch(/csd=/);
  });
});

describe('call_function vectors, sched_wake_idle_without_ipi, vmscan', () => {
  it('parses', () => {
    expect(ok('call_function_single_entry', 'vector=251')).toEqual({ kind: 'call_function_single_entry', vector: 251 });
    expect(ok('call_function_exit', 'vector=252')).toEqual({ kind: 'call_function_exit', vector: 252 });
    expect(ok('sched_wake_idle_without_ipi', 'cpu=3')).toEqual({ kind: 'sched_wake_idle_without_ipi', target: 3 });
    expect(ok('mm_vmscan_kswapd_wake', 'nid=0 order=0')).toEqual({ kind: 'mm_vmscan_kswapd_wake', nrReclaimed: -1 });
    expect(ok('mm_vmscan_direct_reclaim_begin', 'order=0 gfp_flags=GFP_NOFS|__GFP_NOWARN')).toEqual({ kind: 'mm_vmscan_direct_reclaim_begin', nrReclaimed: -1 });
    expect(ok('mm_vmscan_direct_reclaim_end', 'nr_reclaimed=48')).toEqual({ kind: 'mm_vmscan_direct_reclaim_end', nrReclaimed: 48 });
    expect(ok('mm_vmscan_direct_reclaim_end', 'reclaimed 48')).toEqual({ kind: 'mm_vmscan_direct_reclaim_end', nrReclaimed: -1 });
    // include/trace/events/vmscan.h's TP_printk, as a 6.12 kernel prints it
    const pass = 'nid=1 nr_scanned=32 nr_reclaimed=29 nr_dirty=0 nr_writeback=0 nr_congested=0 nr_immediate=0 nr_activate_anon=0 nr_activate_file=3 nr_ref_keep=0 nr_unmap_fail=0 priority=12 flags=RECLAIM_WB_FILE|RECLAIM_WB_ASYNC';
    expect(ok('mm_vmscan_lru_shrink_inactive', pass)).toEqual({ kind: 'mm_vmscan_lru_shrink_inactive', nrReclaimed: 29 });
    expect(ok('mm_vmscan_lru_shrink_inactive', 'nid=1 nr_scanned=32')).toEqual({ kind: 'mm_vmscan_lru_shrink_inactive', nrReclaimed: -1 });
    expect(parse('call_function_entry', 'vec=1')).toMatch(/vector=N/);
  });
});

describe('sched_switch', () => {
  const kernelForm = {
    kind: 'sched_switch', prevComm: 'git', prevPid: 5903, prevPrio: 120, prevState: 'R', nextComm: 'dpkg', nextPid: 5515, nextPrio: 120,
  };

  it('reads the kernel format and the libtraceevent plugin format alike', () => {
    expect(ok('sched_switch', 'prev_comm=git prev_pid=5903 prev_prio=120 prev_state=R ==> next_comm=dpkg next_pid=5515 next_prio=120')).toEqual(kernelForm);
    expect(ok('sched_switch', 'git:5903 [120] R ==> dpkg:5515 [120]')).toEqual(kernelForm);
  });

  it('keeps comms with spaces, colons, brackets and arrows', () => {
    // native-6.18-2cpu/sng-tlb-shootdown trace-cmd: `npm install vit:8034 [120] S ==> stress-ng:8153 [120]`
    expect(ok('sched_switch', 'npm install vit:8034 [120] S ==> stress-ng:8153 [120]')).toMatchObject({
      prevComm: 'npm install vit', prevPid: 8034, prevState: 'S', nextComm: 'stress-ng', nextPid: 8153,
    });
    expect(ok('sched_switch', 'a:b [1] ==> c:7 [120] D ==> x y:z:9 [99]')).toMatchObject({
      prevComm: 'a:b [1] ==> c', prevPid: 7, prevPrio: 120, prevState: 'D', nextComm: 'x y:z', nextPid: 9, nextPrio: 99,
    });
    expect(
      ok('sched_switch', 'prev_comm=npm view @types prev_pid=5935 prev_prio=120 prev_state=R+ ==> next_comm=kworker/0:1 next_pid=12 next_prio=120'),
    ).toMatchObject({ prevComm: 'npm view @types', prevState: 'R+', nextComm: 'kworker/0:1' });
    expect(
      ok('sched_switch', 'prev_comm=a prev_pid=1 b prev_pid=2 prev_prio=120 prev_state=S ==> next_comm=c ==> next_comm=d next_pid=3 next_prio=120'),
    ).toMatchObject({ prevComm: 'a prev_pid=1 b', prevPid: 2, nextComm: 'c ==> next_comm=d', nextPid: 3 });
  });

  it("maps the plugin's pre-4.14 state letters to the kernel's", () => {
    // the same switches in raw ftrace / trace-cmd (checked on every capture): I/W, X/Z, Z/X
    expect(ok('sched_switch', 'kworker/1:1:77 [120] W ==> swapper/1:0 [120]')).toMatchObject({ prevState: 'I' });
    expect(ok('sched_switch', 'tlbw:5071 [120] Z ==> swapper/1:0 [120]')).toMatchObject({ prevState: 'X' });
    expect(ok('sched_switch', 'tlbw:5071 [120] X ==> swapper/1:0 [120]')).toMatchObject({ prevState: 'Z' });
    expect(ok('sched_switch', 'a:1 [120] S|D ==> b:2 [120]')).toMatchObject({ prevState: 'S|D' });
  });

  it('rejects broken lines', () => {
    expect(parse('sched_switch', 'prev_comm=git prev_pid=x prev_prio=120 prev_state=R ==> next_comm=dpkg next_pid=5515 next_prio=120')).toMatch(/sched_switch/);
    expect(parse('sched_switch', 'prev_comm=git prev_pid=1 prev_prio=120 prev_state=R ==> next_comm=dpkg next_pid=x next_prio=120')).toMatch(/numbers/);
    expect(parse('sched_switch', 'git:5903 [120] R')).toMatch(/sched_switch/);
    expect(parse('sched_switch', 'git 5903 R ==> dpkg 5515')).toMatch(/sched_switch/);
  });
});

describe('sched_process_*, sched_migrate_task', () => {
  it('parses the kernel formats, comms from the right', () => {
    expect(ok('sched_process_fork', 'comm=bash pid=5045 child_comm=bash child_pid=5050')).toEqual({
      kind: 'sched_process_fork', parentComm: 'bash', parentPid: 5045, childComm: 'bash', childPid: 5050,
    });
    expect(ok('sched_process_fork', 'comm=npm view @types pid=1 child_comm=a pid=2 child_pid=3')).toMatchObject({
      parentComm: 'npm view @types', parentPid: 1, childComm: 'a pid=2', childPid: 3,
    });
    expect(ok('sched_process_exec', 'filename=/tmp/tlbw pid=5050 old_pid=5050')).toEqual({
      kind: 'sched_process_exec', filename: '/tmp/tlbw', execPid: 5050, oldPid: 5050,
    });
    expect(ok('sched_process_exec', 'filename=/tmp/a b pid=1 c pid=9 old_pid=9')).toMatchObject({ filename: '/tmp/a b pid=1 c', execPid: 9 });
    expect(ok('sched_process_exit', 'comm=tlbw pid=5051 prio=120 group_dead=false')).toEqual({ kind: 'sched_process_exit', exitComm: 'tlbw', exitPid: 5051 });
    expect(ok('sched_process_exit', 'comm=old kernel pid=7 prio=120')).toEqual({ kind: 'sched_process_exit', exitComm: 'old kernel', exitPid: 7 });
    expect(ok('sched_migrate_task', 'comm=memfd:sealed-91 pid=1451 prio=120 orig_cpu=0 dest_cpu=1')).toEqual({
      kind: 'sched_migrate_task', taskComm: 'memfd:sealed-91', taskPid: 1451, origCpu: 0, destCpu: 1,
    });
  });

  it('rejects broken payloads', () => {
    expect(parse('sched_process_fork', 'comm=bash pid=5045')).toMatch(/child_comm/);
    expect(parse('sched_process_exec', 'filename=/x pid=z old_pid=1')).toMatch(/numbers/);
    expect(parse('sched_migrate_task', 'comm=a pid=1 prio=120 orig_cpu=0')).toMatch(/dest_cpu/);
  });
});

describe('syscall entries', () => {
  const mprotect = { kind: 'syscall_enter', name: 'mprotect', nr: 10, raw: false, args: { start: 0x7fa0500d3000, len: 0x10000, prot: 3 } };

  it('reads the raw ftrace call form, 6.18 (0x for values > 9) and 6.1/6.12 (bare hex)', () => {
    // native-6.18-2cpu/sng-tlb-shootdown: sys_mprotect(start: 0x7fa0500d3000, len: 0x10000, prot: 3)
    expect(ok('sys_enter_mprotect', '(start: 0x7fa0500d3000, len: 0x10000, prot: 3)', undefined, 1)).toEqual(mprotect);
    expect(ok('sys_enter_madvise', '(start: 0x7ff78ee80000, len_in: 0x80000, behavior: 0xa)', undefined, 1)).toMatchObject({
      args: { start: 0x7ff78ee80000, len_in: 0x80000, behavior: 10 },
    });
    // qemu-6.12-8cpu/migrate: sys_mbind(start: 7fa9dfe00000, len: 800000, mode: 2, nmask: 7fff510e7de0, maxnode: 40, flags: 2)
    expect(ok('sys_enter_mbind', '(start: 7fa9dfe00000, len: 800000, mode: 2, nmask: 7fff510e7de0, maxnode: 40, flags: 2)', undefined, 1)).toEqual({
      kind: 'syscall_enter', name: 'mbind', nr: 237, raw: false,
      args: { start: 0x7fa9dfe00000, len: 0x800000, mode: 2, nmask: 0x7fff510e7de0, maxnode: 0x40, flags: 2 },
    });
  });

  it('reads the trace-cmd / perf printing', () => {
    expect(ok('sys_enter_mprotect', 'start: 0x7fa0500d3000, len: 0x00010000, prot: 0x00000003')).toEqual(mprotect);
    expect(ok('sys_enter_mremap', 'addr: 0x7fb93a255000, old_len: 0x00034000, new_len: 0x00069000, flags: 0x00000001, new_addr: 0x00000000')).toEqual({
      kind: 'syscall_enter', name: 'mremap', nr: 25, raw: false,
      args: { addr: 0x7fb93a255000, old_len: 0x34000, new_len: 0x69000, flags: 1, new_addr: 0 },
    });
    expect(ok('sys_enter_move_pages', 'pid: 0x00000000, nr_pages: 0x00000800, pages: 0x31c59750, nodes: 0x31c5d760, status: 0x31c5f770, flags: 0x00000002')).toMatchObject({
      nr: 279, args: { nr_pages: 0x800, flags: 2 },
    });
    expect(ok('sys_enter_munmap', 'addr: 0xffffffffffffffff, len: 0x1')).toMatchObject({ args: { addr: 0xffffffffffffffff, len: 1 } });
  });

  it('maps raw_syscalls NR and positional args through the x86_64 table', () => {
    // qemu-6.1-8cpu/reclaim-mmap: sys_enter: NR 56 (1200011, 0, 0, 14acf690, 0, 50)
    expect(ok('sys_enter', 'NR 56 (1200011, 0, 0, 14acf690, 0, 50)')).toEqual({
      kind: 'syscall_enter', name: 'clone', nr: 56, raw: true,
      args: {
        arg0: 0x1200011, arg1: 0, arg2: 0, arg3: 0x14acf690, arg4: 0, arg5: 0x50,
        clone_flags: 0x1200011, newsp: 0, parent_tidptr: 0, child_tidptr: 0x14acf690, tls: 0,
      },
    });
    expect(ok('sys_enter', 'NR 10 (7fa0500d3000, 10000, 3, 0, 0, 0)')).toMatchObject({ name: 'mprotect', nr: 10, args: { start: 0x7fa0500d3000, len: 0x10000, prot: 3, arg2: 3 } });
    expect(ok('sys_enter', 'NR 28 (7f0000000000, 200000, 4, 0, 0, 0)')).toMatchObject({ name: 'madvise', args: { len_in: 0x200000, behavior: 4 } });
    // migrate_pages(2) moves a whole process: the batched policy needs its name (issue #17)
    expect(ok('sys_enter', 'NR 256 (0, 3, 7ffd2000, 7ffd2008, 0, 0)')).toMatchObject({ name: 'migrate_pages', nr: 256, args: { pid: 0, maxnode: 3, old_nodes: 0x7ffd2000, new_nodes: 0x7ffd2008 } });
    // every syscall of the catalogue's 'mm syscalls' family has its x86_64 number, so the
    // raw_syscalls fallback of `tlbtrace record` filters it in (syscall_64.tbl of 6.12)
    expect(ok('sys_enter', 'NR 440 (3, 7ffd2000, 1, 19, 0, 0)')).toMatchObject({ name: 'process_madvise', nr: 440, args: { pidfd: 3, vlen: 1, behavior: 0x19, flags: 0 } });
    expect(ok('sys_enter', 'NR 999 (1, 2, 3, 4, 5, 6)')).toMatchObject({ name: 'nr_999', nr: 999, args: { arg0: 1, arg5: 6 } });
    for (const [nr, name] of [[9, 'mmap'], [11, 'munmap'], [12, 'brk'], [25, 'mremap'], [57, 'fork'], [58, 'vfork'], [59, 'execve'], [60, 'exit'], [231, 'exit_group'], [237, 'mbind'], [256, 'migrate_pages'], [279, 'move_pages'], [329, 'pkey_mprotect'], [435, 'clone3'], [440, 'process_madvise']] as const) {
      expect(ok('sys_enter', `NR ${nr} (0, 0, 0, 0, 0, 0)`)).toMatchObject({ name, nr });
    }
  });

  it('numbers every syscall the recorder asks for, so raw_syscalls stands in for all of them', () => {
    const names = new Set(X86_64_SYSCALLS.map((x) => x.name));
    const asked = EVENT_FAMILIES.flatMap((f) => f.events).filter((e) => e.startsWith('syscalls:sys_enter_')).map((e) => e.slice('syscalls:sys_enter_'.length));
    expect(asked.filter((n) => !names.has(n))).toEqual([]);
  });

  it('keeps unknown syscalls with whatever numeric args they have', () => {
    expect(ok('sys_enter_openat', 'dfd: 0xffffff9c, filename: 0x7ffd1000, flags: 0x00080000, mode: 0x00000000')).toEqual({
      kind: 'syscall_enter', name: 'openat', nr: -1, raw: false, args: { dfd: 0xffffff9c, filename: 0x7ffd1000, flags: 0x80000, mode: 0 },
    });
    expect(ok('sys_enter_fork', '()', undefined, 1 /* raw ftrace `sys_fork()` */)).toEqual({ kind: 'syscall_enter', name: 'fork', nr: 57, raw: false, args: {} });
  });

  it('rejects malformed syscall payloads', () => {
    expect(parse('sys_enter_mprotect', 'start: 0x1000, len: zz, prot: 0x1')).toMatch(/len/);
    expect(parse('sys_enter_mprotect', 'start: 0x1000, len: 0x1000')).toMatch(/prot/);
    expect(parse('sys_enter_mprotect', '(start: 0x1000, len: 0x1000, prot: 1', undefined, 1)).toMatch(/\(arg: value/);
    expect(parse('sys_enter', 'NR x (1)')).toMatch(/NR n/);
    expect(parse('sys_enter', 'NR 10 (1, 2')).toMatch(/NR n/);
  });
});

describe('unknown events', () => {
  it('become `other` with the event name', () => {
    expect(ok('sched_wakeup', 'comm=a pid=1 prio=120 target_cpu=001')).toEqual({ kind: 'other', name: 'sched_wakeup' });
    expect(ok('sys_exit_munmap', '0x0')).toEqual({ kind: 'other', name: 'sys_exit_munmap' });
  });
});
