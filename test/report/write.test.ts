import { mkdtemp, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertNotSameFile, writeFileAtomic } from '../../src/report/write.js';
import { UsageError } from '../../src/cli/errors.js';

describe('writeFileAtomic', () => {
  it('replaces the file whole and leaves no temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlbtrace-write-'));
    const p = join(dir, 'out.html');
    await writeFile(p, 'old');
    await writeFileAtomic(p, 'new');
    expect(await readFile(p, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['out.html']);
  });

  it('fails cleanly when the directory does not exist', async () => {
    await expect(writeFileAtomic(join(tmpdir(), 'no-such-dir-tlbtrace', 'x'), 'x')).rejects.toThrow(/ENOENT/);
  });
});

describe('assertNotSameFile', () => {
  it('refuses an output that is an input, by path or through a link', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlbtrace-same-'));
    const input = join(dir, 'summary.json');
    await writeFile(input, '{}');
    await symlink(input, join(dir, 'link.json'));
    expect(() => assertNotSameFile([input], join(dir, '.', 'summary.json'))).toThrow(UsageError);
    expect(() => assertNotSameFile([input], join(dir, 'link.json'))).toThrow(/refusing to overwrite input/);
    expect(() => assertNotSameFile([input, '-'], join(dir, 'report.html'))).not.toThrow();
  });
});
