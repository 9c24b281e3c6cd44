// tracefs, the kernel's tracing filesystem, as `tlbtrace record` uses it: found where it is mounted,
// or mounted at /sys/kernel/tracing (and unmounted again at the end); then one instance of our own
// under instances/ (kernel/trace/trace.c instance_mkdir()), which has its own ring buffer, events,
// options and tracing_on. Everything the recording changes lives in that instance, so the top level
// that trace-cmd, perf's ftrace mode or another tlbtrace may be using is never touched, two
// recordings never clash, and removing the instance (rmdir) restores all of it at once.
//
// All calls are synchronous: the restoring ones must also work from a signal handler and from the
// process 'exit' hook, where nothing asynchronous runs any more.

import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecordError } from './errors.js';

export const DEFAULT_MOUNT = '/sys/kernel/tracing';

/** The first tracefs mount point in /proc/mounts (fields: device, mount point, type, ...). */
export function tracefsMountPoint(procMounts: string): string | null {
  for (const line of procMounts.split('\n')) {
    const f = line.split(' ');
    // mount points with spaces are octal-escaped (\040) in /proc/mounts
    if (f[2] === 'tracefs' && f[1]) return f[1].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  }
  return null;
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

/** Sleep without an event loop (restoring from the 'exit' hook). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export class Tracefs {
  /** an open descriptor on the root: while we hold it, nobody can unmount tracefs under us */
  private rootFd: number | null;

  private constructor(
    readonly root: string,
    /** we mounted it, so we unmount it at the end */
    readonly mountedByUs: boolean,
  ) {
    this.rootFd = openSync(root, 'r');
  }

  /** Find tracefs, or mount it; refuses (RecordError) when neither works. */
  static open(): Tracefs {
    const mounted = tracefsMountPoint(readFileSync('/proc/mounts', 'utf8'));
    if (mounted !== null) return new Tracefs(mounted, false);
    if (!existsSync(DEFAULT_MOUNT)) {
      throw new RecordError(`tracefs is not mounted and ${DEFAULT_MOUNT} does not exist: this kernel has no tracing (CONFIG_TRACING)`);
    }
    const r = spawnSync('mount', ['-t', 'tracefs', 'nodev', DEFAULT_MOUNT], { encoding: 'utf8' });
    if (r.status !== 0) {
      const why = r.error ? r.error.message : (r.stderr || `exit ${r.status}`).trim();
      throw new RecordError(`cannot mount tracefs at ${DEFAULT_MOUNT} (mount -t tracefs nodev ${DEFAULT_MOUNT}: ${why})`);
    }
    return new Tracefs(DEFAULT_MOUNT, true);
  }

  path(rel: string): string {
    return join(this.root, rel);
  }

  exists(rel: string): boolean {
    return existsSync(this.path(rel));
  }

  read(rel: string): string {
    return readFileSync(this.path(rel), 'utf8');
  }

  readBytes(rel: string): Buffer {
    return readFileSync(this.path(rel));
  }

  /** Write a control file; the error names the file and what was written. */
  write(rel: string, value: string): void {
    try {
      writeFileSync(this.path(rel), value);
    } catch (err) {
      throw new Error(`cannot write '${value.trim()}' to ${this.path(rel)}: ${errnoOf(err)}`);
    }
  }

  list(rel: string): string[] {
    return readdirSync(this.path(rel));
  }

  /**
   * Let go of tracefs; unmount it when we mounted it. Returns what could not be undone (another
   * process started using it meanwhile: it stays mounted for them), for the user to hear.
   */
  close(): string[] {
    if (this.rootFd !== null) {
      closeSync(this.rootFd);
      this.rootFd = null;
    }
    if (!this.mountedByUs) return [];
    const r = spawnSync('umount', [this.root], { encoding: 'utf8' });
    if (r.status === 0) return [];
    return [`tracefs left mounted at ${this.root}: umount failed (${(r.stderr || r.error?.message || '').trim() || `exit ${r.status}`}), probably in use by another process`];
  }
}

/** Our instance's name: the pid makes it unique among running recordings. */
export function instanceName(pid = process.pid): string {
  return `tlbtrace-${pid}`;
}

/**
 * Instances left by recordings that were killed (SIGKILL: no chance to clean up). Their tracing
 * may still be on, costing CPU and memory; we name them, and do not remove what may not be ours
 * (a pid in another pid namespace looks dead from here).
 */
export function staleInstances(fs: Tracefs): string[] {
  const out: string[] = [];
  for (const name of fs.list('instances')) {
    const m = /^tlbtrace-(\d+)$/.exec(name);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') out.push(name);
    }
  }
  return out;
}

export class Instance {
  private removed = false;

  private constructor(
    readonly fs: Tracefs,
    readonly name: string,
  ) {}

  /** mkdir instances/NAME; refuses when the name is taken (another recording, or a stale one). */
  static create(fs: Tracefs, name: string): Instance {
    if (!fs.exists('instances')) throw new RecordError(`${fs.root} has no instances/ directory (kernel older than 3.10?): tlbtrace record needs one of its own`);
    try {
      mkdirSync(fs.path(`instances/${name}`));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new RecordError(`tracefs instance ${fs.path(`instances/${name}`)} already exists: another recording is using it; if none is running, remove it with 'rmdir ${fs.path(`instances/${name}`)}'`);
      }
      throw new RecordError(`cannot create tracefs instance ${fs.path(`instances/${name}`)}: ${errnoOf(err)}`);
    }
    return new Instance(fs, name);
  }

  rel(file: string): string {
    return `instances/${this.name}/${file}`;
  }

  path(file: string): string {
    return this.fs.path(this.rel(file));
  }

  exists(file: string): boolean {
    return this.fs.exists(this.rel(file));
  }

  read(file: string): string {
    return this.fs.read(this.rel(file));
  }

  write(file: string, value: string): void {
    this.fs.write(this.rel(file), value);
  }

  /** CPU numbers with a per_cpu/cpuN directory (every possible CPU) */
  cpus(): number[] {
    return this.fs
      .list(this.rel('per_cpu'))
      .map((d) => /^cpu(\d+)$/.exec(d))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  /**
   * Stop it and remove it: tracing off and events off first (if rmdir fails, nothing keeps
   * recording), then rmdir, retried briefly while a descriptor is still being released. Returns
   * what could not be undone.
   */
  remove(): string[] {
    if (this.removed) return [];
    this.removed = true;
    const problems: string[] = [];
    try {
      this.write('tracing_on', '0');
      this.write('set_event', '');
    } catch (err) {
      problems.push((err as Error).message);
    }
    const dir = this.fs.path(this.rel(''));
    for (let attempt = 0; ; attempt++) {
      try {
        rmdirSync(dir);
        return problems;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return problems;
        if (code === 'EBUSY' && attempt < 20) {
          sleepSync(50);
          continue;
        }
        try {
          this.write('buffer_size_kb', '4'); // give back the ring-buffer memory at least
        } catch {
          // nothing more to do
        }
        problems.push(`tracefs instance ${dir} could not be removed (${code ?? (err as Error).message}): tracing in it is off; remove it with 'rmdir ${dir}'`);
        return problems;
      }
    }
  }

  get isRemoved(): boolean {
    return this.removed;
  }
}

