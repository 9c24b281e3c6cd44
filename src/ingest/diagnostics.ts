// Warnings are data: counted by code, with the first few examples kept (file:line), reported in the
// summary and never printed as console noise from deep inside a parser. `--strict` turns the first
// warning into an error.

import { InputError } from '../errors.js';

export interface WarningExample {
  file: string;
  line: number;
  code: string;
  message: string;
}

/**
 * Text from a trace quoted in a message: control characters, C1 codes and invisible direction
 * overrides as `\xNN` / `\uNNNN` (the notation the reports use; invalid UTF-8 bytes already come
 * out of the line splitter as `\xNN`), cut to `max` characters with `...`, in double quotes.
 */
export function quoteTraceText(s: string, max = 60): string {
  // (a cut does not leave half of a `\xNN` the line splitter wrote for an invalid byte)
  const cut = s.length > max ? s.slice(0, max).replace(/\\x[0-9a-f]?$/, '') : s;
  // eslint-disable-next-line no-control-regex
  const shown = cut.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  return `"${shown}"${s.length > max ? '...' : ''}`;
}

export interface DiagnosticsOptions {
  /** examples kept per warning code (memory stays bounded however many warnings there are) */
  examplesPerCode?: number;
  /** throw an InputError at the first warning */
  strict?: boolean;
}

export class Diagnostics {
  readonly counts = new Map<string, number>();
  readonly examples: WarningExample[] = [];
  readonly examplesPerCode: number;
  readonly strict: boolean;

  constructor(opts: DiagnosticsOptions = {}) {
    this.examplesPerCode = opts.examplesPerCode ?? 3;
    this.strict = opts.strict ?? false;
  }

  /**
   * Record a warning. `code` is a stable identifier (`malformed-line`, `unknown-payload`,
   * `ts-backwards`, ...); `message` says what was expected.
   */
  warn(code: string, file: string, line: number, message: string): void {
    if (this.strict) throw new InputError(file, line, `${message} [${code}] (--strict)`);
    const n = (this.counts.get(code) ?? 0) + 1;
    this.counts.set(code, n);
    if (n <= this.examplesPerCode) this.examples.push({ file, line, code, message });
  }

  /**
   * Warnings another Diagnostics recorded (the ingest worker's: src/ingest/worker/source.ts):
   * `counts` are new since its last report, `examples` the examples it kept since then.
   */
  absorb(counts: ReadonlyArray<readonly [string, number]>, examples: readonly WarningExample[]): void {
    for (const [code, n] of counts) this.counts.set(code, (this.counts.get(code) ?? 0) + n);
    for (const x of examples) {
      if (this.examples.filter((y) => y.code === x.code).length < this.examplesPerCode) this.examples.push(x);
    }
  }

  get total(): number {
    let t = 0;
    for (const n of this.counts.values()) t += n;
    return t;
  }

  byCode(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort((a, b) => a[0].localeCompare(b[0])));
  }
}
