// The real binary at the end of a pipe whose reader quits early (`tlbtrace ... | head`): it must
// stop quietly, not print a stack trace for EPIPE.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/tlbtrace', import.meta.url));

describe('a closed stdout pipe', () => {
  it('ends the process quietly (exit 141), with nothing on stderr', async () => {
    const child = spawn(process.execPath, [BIN, 'analyze', 'fixtures/native-6.18-2cpu/mt-mixed/ftrace.txt.gz', '--json'], { cwd: ROOT });
    // read nothing and close our end at once: the child's first write gets EPIPE
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).toBe('');
    expect(code).toBe(141);
  });
});
