// Worker thread side of inflate.ts: decompresses the per-CPU chunk lists of one trace.dat ahead
// of the main thread, which decodes records meanwhile (decompression is most of a compressed
// trace.dat's reading cost, and it needs nothing from the decoder).
//
// It runs the same CpuStream as the in-thread path, so chunks, their problems (truncation, a
// chunk that does not decompress) and their order are the same; each stream is kept at most
// `aheadBytes` ahead of what the main thread acknowledged. Protocol: see inflate.ts.

import { parentPort, workerData } from 'node:worker_threads';
import { prepareZstd } from './compress.js';
import { RandomAccessFile } from './file.js';
import { CpuStream, type StreamProblem } from './ringbuf.js';
import type { InflateJob, ToMain, ToWorker, WorkerItem } from './inflate.js';

/** An output whose ArrayBuffer is its own (no pooled or shared memory) can be moved, not copied. */
const OWN_SLACK = 64;

function transferable(buf: Buffer): Uint8Array {
  if (buf.byteOffset === 0 && buf.buffer.byteLength - buf.byteLength <= OWN_SLACK) return buf;
  return new Uint8Array(buf);
}

async function run(port: NonNullable<typeof parentPort>, job: InflateJob): Promise<void> {
  await prepareZstd(); // this thread's own WebAssembly decoder
  const file = await RandomAccessFile.open(job.path);
  const n = job.refs.length;
  const problems: StreamProblem[][] = job.refs.map(() => []);
  const streams = job.refs.map(
    (ref, i) => new CpuStream(file, ref, job.pageSize, job.compression, true, job.le, (p) => problems[i]!.push(p), job.cpus),
  );
  const ahead = new Array<number>(n).fill(0);
  const done = new Array<boolean>(n).fill(false);
  let wake: (() => void) | null = null;
  port.on('message', (m: ToWorker) => {
    ahead[m.stream]! -= m.bytes;
    wake?.();
  });
  port.postMessage({ type: 'ready' } satisfies ToMain);
  for (;;) {
    // the stream furthest behind first: the merge on the main thread needs all of them
    let s = -1;
    for (let i = 0; i < n; i++) {
      if (!done[i] && ahead[i]! < job.aheadBytes && (s < 0 || ahead[i]! < ahead[s]!)) s = i;
    }
    if (s < 0) {
      if (done.every(Boolean)) break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
      continue;
    }
    const buf = await streams[s]!.next();
    const items: WorkerItem[] = problems[s]!.splice(0).map((problem) => ({ problem }));
    const transfer: ArrayBuffer[] = [];
    if (buf) {
      const data = transferable(buf);
      items.push({ data });
      transfer.push(data.buffer as ArrayBuffer);
      ahead[s]! += data.byteLength;
    } else done[s] = true;
    port.postMessage({ type: 'chunks', stream: s, items, consumed: streams[s]!.consumed, done: done[s]! } satisfies ToMain, transfer);
  }
  await file.close();
  port.close();
}

if (parentPort) {
  const port = parentPort;
  // an exception here reaches the main thread as the worker's 'error' event (inflate.ts)
  await run(port, workerData as InflateJob);
}
