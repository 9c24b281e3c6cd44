// Reading a summary back (`tlbtrace report`, `tlbtrace compare`): every way a file can be wrong
// (missing, not JSON, another tool's JSON, an older or newer tlbtrace summary, a field missing or
// of the wrong type) ends in an InputError that names the file and says what is wrong and how to
// get a good one. Never a stack trace.

import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { SUMMARY_SCHEMA, Summary } from '../summary/schema.js';

const HOW_TO_MAKE = 'make one with `tlbtrace analyze TRACE --json > summary.json`';
/** issues listed in the message; the rest are counted */
const MAX_ISSUES = 5;

/** Validate a parsed JSON value as a summary; `file` names it in errors. */
export function parseSummary(value: unknown, file: string): Summary {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError(file, 0, `not a tlbtrace summary: the JSON is ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}, expected an object; ${HOW_TO_MAKE}`);
  }
  const schema = (value as Record<string, unknown>)['schema'];
  if (schema === undefined) {
    throw new InputError(file, 0, `not a tlbtrace summary: no "schema" field (expected "${SUMMARY_SCHEMA}"); ${HOW_TO_MAKE}`);
  }
  if (schema !== SUMMARY_SCHEMA) {
    const shown = JSON.stringify(schema)?.slice(0, 80) ?? String(schema);
    const m = typeof schema === 'string' ? /^tlbtrace\.summary\/(\d+)$/.exec(schema) : null;
    const hint = m
      ? Number(m[1]) > 1
        ? 'it was written by a newer tlbtrace; upgrade tlbtrace to read it'
        : 'it was written by an older tlbtrace; re-run `tlbtrace analyze --json` on the trace'
      : HOW_TO_MAKE;
    throw new InputError(file, 0, `unsupported summary schema ${shown}, expected "${SUMMARY_SCHEMA}"; ${hint}`);
  }
  const result = Summary.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues;
    const listed = issues.slice(0, MAX_ISSUES).map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
    const more = issues.length > MAX_ISSUES ? `; and ${issues.length - MAX_ISSUES} more` : '';
    throw new InputError(file, 0, `invalid ${SUMMARY_SCHEMA} summary: ${listed.join('; ')}${more}; the file is corrupt or was edited — re-run \`tlbtrace analyze --json\``);
  }
  return result.data;
}

/** Read and validate a summary JSON file. */
export async function loadSummary(path: string): Promise<Summary> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new InputError(path, 0, `cannot read summary: ${why}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const head = text.trimStart().slice(0, 1);
    const what = text.trim() === '' ? 'the file is empty' : `not valid JSON (${(err as Error).message})`;
    const hint = head !== '{' && head !== '[' && text.trim() !== '' ? `; if this is a trace, ${HOW_TO_MAKE.replace('make one', 'make a summary')}` : '';
    throw new InputError(path, 0, `cannot read summary: ${what}${hint}`);
  }
  return parseSummary(value, path);
}
