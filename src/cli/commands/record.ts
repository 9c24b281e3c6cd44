// `tlbtrace record -o DIR [--duration T] -- COMMAND...`: capture a trace of this machine with the
// kernel's own counters beside it (src/record/), then optionally analyze it. The exit code is the
// command's; 2 when recording could not start (not root, no tracefs, command not found, ...).

import type { Command } from 'commander';
import { RecordError } from '../../record/errors.js';
import { record, type RecordProgress } from '../../record/session.js';
import { UsageError, type SetExitCode } from '../errors.js';

interface RecordFlags {
  output: string;
  duration?: string;
  bufferKb?: string;
  analyze?: boolean;
  progress?: boolean;
}

/** `10s`, `500ms`, `2m`, `1h`, or plain seconds -> milliseconds */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new UsageError(`--duration '${s}': expected a number with ms, s, m or h (e.g. 10s)`);
  const ms = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  if (!(ms > 0)) throw new UsageError(`--duration '${s}' must be more than 0`);
  return ms;
}

/** elapsed, events and lost so far, redrawn in place; none when stderr is not a terminal */
function progressLine(stream: NodeJS.WriteStream = process.stderr): { update: (p: RecordProgress) => void; done: () => void } | undefined {
  if (!stream.isTTY || process.env['CI']) return undefined;
  let shown = false;
  return {
    update(p) {
      shown = true;
      const lost = p.lost > 0 ? `, ${p.lost.toLocaleString('en-US')} LOST` : ', 0 lost';
      stream.write(`\r\x1b[Krecording ${p.elapsedSec.toFixed(1)} s, ${p.events.toLocaleString('en-US')} events${lost}`);
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}

export function register(program: Command, setExitCode: SetExitCode): void {
  program
    .command('record')
    .description('record TLB, IPI, csd, sched and mm-syscall events of this machine (root) into a capture directory, with /proc/interrupts counters to check the analysis against')
    .argument('[command...]', 'the command to run while recording (put it after --); without one: --duration, or until Ctrl-C')
    .requiredOption('-o, --output <dir>', 'capture directory to create (must not exist, or be empty)')
    .option('--duration <time>', 'record for this long (10s, 500ms, 2m) instead of running a command')
    .option('--buffer-kb <kb>', 'ring buffer per CPU in KiB (default: 8192, less on small machines)')
    .option('--analyze', 'analyze the capture afterwards: print the report and write DIR/summary.json')
    .option('--no-progress', 'no progress line on stderr')
    .addHelpText(
      'after',
      `
Examples:
  sudo tlbtrace record -o run1/ -- ./my-benchmark --threads 32
  sudo tlbtrace record -o idle/ --duration 10s
  tlbtrace analyze run1/ --html run1/report.html

Streams each CPU's ring buffer (trace_pipe_raw) into DIR/trace.dat while recording, in a tracefs
instance of its own (instances/tlbtrace-PID), removed at the end; the top-level tracing state is
never touched. Ctrl-C or SIGTERM stop the recording (and are passed to the command); the capture
of what was recorded is still written. Exit code: the command's; 2 when recording could not start.`,
    )
    .action(async (argv: string[], flags: RecordFlags) => {
      if (argv.length > 0 && flags.duration !== undefined) throw new UsageError('give a command or --duration, not both (the command decides how long the recording lasts)');
      const durationMs = flags.duration !== undefined ? parseDuration(flags.duration) : null;
      let bufferKbPerCpu: number | undefined;
      if (flags.bufferKb !== undefined) {
        bufferKbPerCpu = Number(flags.bufferKb);
        if (!Number.isInteger(bufferKbPerCpu) || bufferKbPerCpu < 64) throw new UsageError(`--buffer-kb '${flags.bufferKb}': expected a whole number of KiB, at least 64`);
      }
      if (argv.length === 0 && durationMs === null) process.stderr.write('tlbtrace: no command and no --duration: recording until Ctrl-C\n');
      const progress = flags.progress === false ? undefined : progressLine();
      let result;
      try {
        result = await record({
          outDir: flags.output,
          argv: argv.length > 0 ? argv : null,
          durationMs,
          bufferKbPerCpu,
          log: (line) => {
            progress?.done();
            process.stderr.write(`${line}\n`);
          },
          onProgress: progress?.update,
        });
      } catch (err) {
        if (err instanceof RecordError) throw new UsageError(err.message);
        throw err;
      } finally {
        progress?.done();
      }
      const r = result.capture.recording;
      const events = r.eventsPerCpu.reduce((a, b) => a + b, 0);
      const lost = r.overrunPerCpu.reduce((a, b) => a + b, 0) + r.commitOverrunPerCpu.reduce((a, b) => a + b, 0) + r.droppedPerCpu.reduce((a, b) => a + b, 0);
      const exit = result.capture.exitCode !== null ? `; ${result.capture.argv![0]} exited ${result.capture.exitCode}` : '';
      process.stderr.write(
        `tlbtrace: wrote ${flags.output}: ${events.toLocaleString('en-US')} events in ${result.capture.durationSec.toFixed(2)} s (${(result.traceBytes / 1048576).toFixed(1)} MiB trace.dat), ${lost > 0 ? `${lost.toLocaleString('en-US')} LOST` : 'none lost'}; tracefs restored${exit}\n`,
      );
      if (flags.analyze) {
        const { analyzeTrace } = await import('../../pipeline/analyze.js');
        const { renderTerminal } = await import('../../report/terminal.js');
        const { writeFileAtomic } = await import('../../report/write.js');
        const { join } = await import('node:path');
        const summary = await analyzeTrace([flags.output]);
        await writeFileAtomic(join(flags.output, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
        process.stdout.write(renderTerminal(summary, { color: Boolean(process.stdout.isTTY) && !process.env['NO_COLOR'] }));
      } else {
        process.stderr.write(`tlbtrace: analyze it with: tlbtrace analyze ${flags.output}\n`);
      }
      setExitCode(result.exitCode);
    });
}
