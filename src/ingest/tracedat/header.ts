// trace.dat metadata: the initial header, then either the v6 sequential layout or the v7 options
// and sections. References: trace-cmd Documentation/trace-cmd/trace-cmd.dat.v6.5.txt and
// trace-cmd.dat.v7.5.txt, lib/trace-cmd/trace-input.c (read_headers_v6(), handle_options(),
// handle_buffer_option(), read_section_header(), init_buffer_cpu_data(), read_cpu_data()).
//
// Layout of the metadata code: sections.ts (types, option and format blocks), v6.ts, v7.ts,
// salvage.ts (a v7 file cut inside its trace data).

import type { RandomAccessFile } from './file.js';
import { viewOf } from './bytes.js';
import { fail, TRACE_DAT_MAGIC, type TraceDatInfo } from './sections.js';
import { readV6 } from './v6.js';
import { readV7 } from './v7.js';

export { HeaderError, Opt, strtoll0, TRACE_DAT_MAGIC, type CpuDataRef, type TraceDatInfo } from './sections.js';

/** Read the initial format shared by v6 and v7 and dispatch. */
export async function readTraceDatInfo(file: RandomAccessFile): Promise<TraceDatInfo> {
  const head = await file.read(0, 4096);
  if (head.length < TRACE_DAT_MAGIC.length || !head.subarray(0, TRACE_DAT_MAGIC.length).equals(TRACE_DAT_MAGIC)) {
    fail('not a trace.dat file: expected the magic bytes 17 08 44 "tracing" at offset 0');
  }
  let p = TRACE_DAT_MAGIC.length;
  const nul = head.indexOf(0, p);
  if (nul < 0 || nul - p > 8) fail('truncated or corrupt header: expected a NUL-terminated file version after the magic');
  const versionStr = head.toString('latin1', p, nul);
  const version = Number.parseInt(versionStr, 10);
  if (!/^\d+$/.test(versionStr) || (version !== 6 && version !== 7)) {
    fail(`unsupported trace.dat file version "${versionStr}" (expected 6 or 7)`);
  }
  p = nul + 1;
  if (head.length < p + 6) fail('truncated header: expected endianness, long size and page size after the version');
  const endianByte = head[p]!;
  if (endianByte > 1) fail(`corrupt header: endianness byte is ${endianByte}, expected 0 (little) or 1 (big)`);
  const le = endianByte === 0;
  const userLongSize = head[p + 1]!;
  if (userLongSize !== 4 && userLongSize !== 8) fail(`corrupt header: long size is ${userLongSize}, expected 4 or 8`);
  const dv = viewOf(head);
  const pageSize = dv.getUint32(p + 2, le);
  if (pageSize < 1024 || pageSize > 1 << 24 || (pageSize & (pageSize - 1)) !== 0) {
    fail(`corrupt header: page size ${pageSize} is not a power of two between 1 KiB and 16 MiB`);
  }
  p += 6;
  const base = { version, littleEndian: le, userLongSize, pageSize };
  return version === 6 ? readV6(file, p, base) : readV7(file, head, p, base);
}
