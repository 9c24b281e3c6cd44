// What machine a capture comes from, for capture.json: kernel release, CPUs, CPU model, and the
// hypervisor if any. The hypervisor matters to the cross-check: a guest whose remote TLB flushes go
// to the hypervisor by hypercall (Hyper-V, Xen, PVM; KVM for preempted vCPUs) logs flush requests
// but no flush IPIs, and its /proc/interrupts TLB line stays 0.
//
// Where the hypervisor's name comes from, in order: /sys/hypervisor/type (Xen), the kernel's boot
// line "Hypervisor detected: NAME" (arch/x86/kernel/cpu/hypervisor.c init_hypervisor_platform())
// in dmesg, else the `hypervisor` CPUID flag in /proc/cpuinfo (a guest, of an unknown hypervisor).

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  /** `uname -r` */
  kernel: string;
  /** the trace.dat UNAME option as trace-cmd record writes it (add_uname()): sysname nodename release machine */
  uname: string;
  /** online CPUs */
  cpus: number;
  cpuModel: string | null;
  /** null on bare metal (as far as can be told) */
  hypervisor: string | null;
  /** one readable line: "AMD EPYC ..., 2 CPUs, under the PVM hypervisor" */
  description: string;
}

function readOr(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** "Hypervisor detected: PVM" in a dmesg text -> "PVM" */
export function hypervisorFromDmesg(text: string): string | null {
  const m = /Hypervisor detected: ([^\n]+)/.exec(text);
  return m ? m[1]!.trim() : null;
}

function detectHypervisor(cpuinfo: string | null): string | null {
  const xen = readOr('/sys/hypervisor/type')?.trim();
  if (xen) return xen;
  const dmesg = spawnSync('dmesg', [], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const fromDmesg = dmesg.status === 0 ? hypervisorFromDmesg(dmesg.stdout) : null;
  if (fromDmesg) return fromDmesg;
  if (cpuinfo !== null && /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo)) return 'unknown (the CPU flags say a hypervisor runs this machine)';
  return null;
}

export function describeMachine(): MachineInfo {
  const cpuinfo = readOr('/proc/cpuinfo');
  const cpuModel = cpuinfo === null ? null : (/^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? null);
  const cpus = os.cpus().length;
  const hypervisor = detectHypervisor(cpuinfo);
  const vendor = readOr('/sys/class/dmi/id/sys_vendor')?.trim();
  const parts = [cpuModel ?? 'unknown CPU', `${cpus} CPUs`];
  if (hypervisor !== null) parts.push(`under the ${hypervisor} hypervisor`);
  if (vendor) parts.push(`system vendor ${vendor}`);
  return {
    kernel: os.release(),
    uname: [os.type(), os.hostname(), os.release(), os.machine()].join(' '),
    cpus,
    cpuModel,
    hypervisor,
    description: parts.join(', '),
  };
}
