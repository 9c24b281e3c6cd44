// Output files are written whole or not at all: a temp file in the same directory (same
// filesystem, so rename(2) is atomic), then rename over the target. A reader never sees half a
// report, and an interrupted run leaves the previous report in place. A failure (missing
// directory, a directory in the way, no space left) is an OutputError naming the path (exit 2),
// and the temp file is removed.

import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { OutputError, UsageError } from '../cli/errors.js';

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  // rename(2) would fail on a directory only after the temp file was written (next to it, in its parent)
  if ((await stat(path).catch(() => null))?.isDirectory()) throw new OutputError(`cannot write ${path}: it is a directory`);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? `ENOENT: directory ${dirname(path)} does not exist` : e.message;
    throw new OutputError(`cannot write ${path}: ${why}`);
  }
}

function identity(path: string): { dev: number; ino: number } | null {
  try {
    const st = statSync(path);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return null;
  }
}

/**
 * Refuse to write `output` when it is one of `inputs` (same path, or the same file through a
 * link): the rename would replace the input the user still needs. '-' (stdin) never matches.
 * Call it before reading anything, so the refusal costs nothing.
 */
export function assertNotSameFile(inputs: readonly string[], output: string): void {
  const out = resolve(output);
  const outId = identity(out);
  for (const input of inputs) {
    if (input === '-') continue;
    const inp = resolve(input);
    const inId = identity(inp);
    if (inp === out || (outId && inId && outId.dev === inId.dev && outId.ino === inId.ino)) {
      throw new UsageError(`refusing to overwrite input ${input} with output ${output}; choose another output path`);
    }
  }
}

/** Refuse two outputs that are one file (`-o x --html x`): the second would silently replace the first. */
export function assertDistinctOutputs(outputs: ReadonlyArray<{ flag: string; path: string }>): void {
  for (let i = 0; i < outputs.length; i++) {
    for (let j = i + 1; j < outputs.length; j++) {
      const a = outputs[i]!;
      const b = outputs[j]!;
      const ia = identity(resolve(a.path));
      const ib = identity(resolve(b.path));
      if (resolve(a.path) === resolve(b.path) || (ia && ib && ia.dev === ib.dev && ia.ino === ib.ino)) {
        throw new UsageError(`${a.flag} and ${b.flag} name the same file ${b.path}; choose two paths`);
      }
    }
  }
}
