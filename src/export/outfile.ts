// A text output written as it is produced, in bounded memory, and published atomically: the text
// goes to a temporary file beside the target (same filesystem) in 1 MiB writes, and commit()
// renames it over the target, as src/report/write.ts does for whole files. abort() removes it.

import { closeSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { OutputError } from '../cli/errors.js';

const FLUSH_AT = 1 << 20;

export class StreamedFile {
  private readonly tmp: string;
  private fd: number;
  private parts: string[] = [];
  private pending = 0;
  bytes = 0;

  constructor(readonly path: string) {
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new OutputError(`cannot write ${path}: it is a directory`);
    this.tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      this.fd = openSync(this.tmp, 'wx');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new OutputError(`cannot write ${path}: ${e.code === 'ENOENT' ? `directory ${dirname(path)} does not exist` : e.message}`);
    }
  }

  write(s: string): void {
    this.parts.push(s);
    this.pending += s.length;
    if (this.pending >= FLUSH_AT) this.flush();
  }

  private flush(): void {
    if (this.parts.length === 0) return;
    const buf = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.pending = 0;
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off);
    this.bytes += buf.length;
  }

  commit(): void {
    try {
      this.flush();
      closeSync(this.fd);
      renameSync(this.tmp, this.path);
    } catch (err) {
      this.abort();
      throw new OutputError(`cannot write ${this.path}: ${(err as Error).message}`);
    }
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    try {
      unlinkSync(this.tmp);
    } catch {
      // already gone
    }
  }
}
