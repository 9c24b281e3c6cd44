// A progress bar on stderr for long inputs, only when stderr is a terminal (never in pipes or CI).

export interface Progress {
  update: (bytesRead: number, totalBytes: number | undefined) => void;
  done: () => void;
}

export function progressReporter(stream: NodeJS.WriteStream = process.stderr): Progress | undefined {
  if (!stream.isTTY || process.env.CI) return undefined;
  const start = Date.now();
  let last = 0;
  let shown = false;
  return {
    update(bytesRead, totalBytes) {
      const now = Date.now();
      // only for inputs that take a while, and at most ~10 redraws a second
      if (now - start < 1000 || now - last < 100) return;
      last = now;
      shown = true;
      const mb = (bytesRead / 1048576).toFixed(1);
      if (totalBytes) {
        const frac = Math.min(1, bytesRead / totalBytes);
        const width = 30;
        const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
        stream.write(`\r[${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${mb} MiB`);
      } else {
        stream.write(`\r${mb} MiB read`);
      }
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
