// `npm run bench` options: the command line, its usage text, and the metric a ratio is taken by.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEFAULT_TRACES = path.resolve(ROOT, '..', 'shared', 'traces');
export const DEFAULT_CAPTURES = ['native-6.18-2cpu/sng-madvise', 'native-6.18-2cpu/sng-munmap'];

export type Metric = 'wall' | 'cpu' | 'main';

/** a ratio of events/s by wall-clock time, by CPU time of the whole process, and of its main thread */
export type Ratio = Record<Metric, number>;

export interface Options {
  json: boolean;
  jsonOut?: string;
  traces: string;
  captures: string[];
  runs: number;
  scale: number;
  metric: Metric;
  /** why that metric (auto choice) */
  metricWhy: string;
  /** --metric auto: chosen from the load when the benchmark starts */
  metricAuto: boolean;
  stream: boolean;
  /** copies of the recording for the steady-state rows; 0: none */
  copies: number;
  keepTmp: boolean;
  /** measure the trace.dat rows on the LTS too (runtimes.ts) */
  lts: boolean;
  /** its node binary (default: node@LTS from the npm registry) */
  ltsNode?: string;
}

export const USAGE = `usage: npm run bench -- [options]
  --json               machine-readable output (tlbtrace.bench/1) on stdout
  --json-out FILE      also write that JSON to FILE (the table still goes to stdout)
  --traces DIR         directory of the captures (default ../shared/traces; env TLBTRACE_TRACES)
  --capture A,B        captures under DIR (default ${DEFAULT_CAPTURES.join(',')}; a bare name means native-6.18-2cpu/NAME)
  --runs N             runs per measurement, median taken (default 3)
  --scale N            copies for the memory run (default 10)
  --metric auto|wall|cpu|main  time the PASS/FAIL lines use (default auto: wall, or cpu when
                       the machine is busy at start; main: CPU time of tlbtrace's main thread,
                       where the model runs, which other load on the machine does not inflate)
  --no-stream          skip the 1x/Nx stdin runs (no memory-flatness check)
  --copies N           steady-state rows on N copies of the recording, as trace.dat and as its
                       trace-cmd report text (default 5; needs trace-cmd; 0 skips them)
  --no-copies          the same as --copies 0
  --keep-tmp           keep the temporary files (uncompressed text, the N-copy inputs)
  --lts-node PATH      the other runtime the trace.dat rows are measured on (default: the node
                       package of the current LTS from the npm registry, installed once into
                       node_modules/.cache/tlbtrace-bench/)
  --no-lts             measure on this machine's node only
`;

export class ArgError extends Error {}

export function parseArgs(argv: string[]): Options {
  const o: Options = {
    json: false,
    traces: process.env.TLBTRACE_TRACES ?? DEFAULT_TRACES,
    captures: DEFAULT_CAPTURES,
    runs: 3,
    scale: 10,
    metric: 'wall',
    metricWhy: '',
    metricAuto: true,
    stream: true,
    copies: 5,
    keepTmp: false,
    lts: true,
  };
  const int = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new ArgError(`${name} wants an integer >= ${min} (got ${v ?? 'nothing'})`);
    return n;
  };
  let metricGiven = 'auto';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--json':
        o.json = true;
        break;
      case '--json-out':
        o.jsonOut = path.resolve(value() ?? '');
        break;
      case '--traces':
        o.traces = path.resolve(value() ?? '');
        break;
      case '--capture':
      case '--captures':
        o.captures = (value() ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .map((s) => (s.includes('/') ? s : `native-6.18-2cpu/${s}`));
        if (o.captures.length === 0) throw new ArgError('--capture wants a name');
        break;
      case '--runs':
        o.runs = int('--runs', value(), 1);
        break;
      case '--scale':
        o.scale = int('--scale', value(), 2);
        break;
      case '--metric': {
        const m = value();
        if (m !== 'wall' && m !== 'cpu' && m !== 'main' && m !== 'auto') throw new ArgError(`--metric wants auto, wall, cpu or main (got ${m ?? 'nothing'})`);
        metricGiven = m;
        break;
      }
      case '--no-stream':
        o.stream = false;
        break;
      case '--copies':
        o.copies = int('--copies', value(), 0);
        break;
      case '--no-copies':
        o.copies = 0;
        break;
      case '--keep-tmp':
        o.keepTmp = true;
        break;
      case '--lts-node':
        o.ltsNode = path.resolve(value() ?? '');
        break;
      case '--no-lts':
        o.lts = false;
        break;
      case '-h':
      case '--help':
        process.stdout.write(USAGE);
        process.exit(0);
      default:
        throw new ArgError(`unknown argument ${a}`);
    }
  }
  o.metricAuto = metricGiven === 'auto';
  if (!o.metricAuto) {
    o.metric = metricGiven as Metric;
    o.metricWhy = 'given with --metric';
  }
  return o;
}
