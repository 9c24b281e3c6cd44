// Output files are written whole or not at all: a temp file in the same directory (same
// filesystem, so rename(2) is atomic), then rename over the target. A reader never sees half a
// report, and an interrupted run leaves the previous report in place.

import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../cli/errors.js';

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
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
