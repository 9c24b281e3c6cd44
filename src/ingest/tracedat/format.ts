// Event layouts from the file's own format text (tracefs `events/<system>/<event>/format`,
// `events/header_page`, `events/header_event`, copied into trace.dat by trace-cmd). Offsets and
// sizes are never hard-coded: kernels move fields between versions. Field lines look like
//   field:__data_loc cpumask_t cpumask;	offset:8;	size:4;	signed:0;
//   field:unsigned long args[6];	offset:16;	size:48;	signed:0;
// and are parsed the way libtraceevent's event_read_fields() does: the name is the last
// identifier of the declaration, `[N]` makes an array, `__data_loc`/`__rel_loc` a dynamic field.

export interface FieldDef {
  name: string;
  /** the declaration without the name, e.g. `unsigned long`, `__data_loc char[]` */
  type: string;
  offset: number;
  size: number;
  signed: boolean;
  /** `__data_loc` (offset/length word, offset from record start) or `__rel_loc` (offset from field end) */
  dynamic: 'data_loc' | 'rel_loc' | null;
  /** element count for `name[N]`, 0 for `name[]`, -1 when not an array */
  arrayLen: number;
}

const FIELD_RE = /^\s*field:(.*?);\s*offset:(\d+);\s*size:(\d+);(?:\s*signed:(-?\d+);)?/;

export function parseFieldLine(line: string): FieldDef | null {
  const m = FIELD_RE.exec(line);
  if (!m) return null;
  const decl = m[1]!.trim();
  const nm = /([A-Za-z_]\w*)\s*(\[([^\]]*)\])?\s*$/.exec(decl);
  if (!nm) return null;
  const name = nm[1]!;
  let arrayLen = -1;
  if (nm[2] !== undefined) {
    const n = Number.parseInt(nm[3]!, 10);
    arrayLen = Number.isFinite(n) ? n : 0;
  }
  const type = decl.slice(0, nm.index).trim();
  const dynamic = type.startsWith('__data_loc') ? 'data_loc' : type.startsWith('__rel_loc') ? 'rel_loc' : null;
  return {
    name,
    type,
    offset: Number(m[2]),
    size: Number(m[3]),
    signed: m[4] !== undefined ? m[4] !== '0' : /^(?:s\d+|int|long|short|char|signed|pid_t)\b/.test(type),
    dynamic,
    arrayLen,
  };
}

/**
 * One event's format. trace.dat stores the formats of every event the kernel has (thousands);
 * only the name and id are read up front, the fields when the event actually occurs.
 */
export class EventFormat {
  private parsed: { fields: FieldDef[]; byName: Map<string, FieldDef>; printFmt: string } | null = null;

  constructor(
    readonly id: number,
    readonly name: string,
    readonly system: string,
    private readonly text: string,
  ) {}

  private parse(): { fields: FieldDef[]; byName: Map<string, FieldDef>; printFmt: string } {
    if (this.parsed) return this.parsed;
    let printFmt = '';
    const fields: FieldDef[] = [];
    for (const line of this.text.split('\n')) {
      if (line.startsWith('print fmt:')) printFmt = line.slice(10).trim();
      else if (line.includes('field:')) {
        const f = parseFieldLine(line);
        if (f) fields.push(f);
      }
    }
    this.parsed = { fields, byName: new Map(fields.map((f) => [f.name, f])), printFmt };
    return this.parsed;
  }

  get fields(): FieldDef[] {
    return this.parse().fields;
  }

  get byName(): Map<string, FieldDef> {
    return this.parse().byName;
  }

  get printFmt(): string {
    return this.parse().printFmt;
  }
}

/** The `name:` and `ID:` lines of a format file; null when either is missing (libtraceevent rejects those too). */
export function parseEventFormat(text: string, system: string): EventFormat | null {
  const nm = /^name:\s*(\S+)/m.exec(text);
  const id = /^ID:\s*(\d+)/m.exec(text);
  if (!nm || !id) return null;
  return new EventFormat(Number.parseInt(id[1]!, 10), nm[1]!, system, text);
}

/** Layout of a ring-buffer page (`events/header_page`). */
export interface HeaderPage {
  tsOffset: number;
  tsSize: number;
  commitOffset: number;
  /** the kernel's `long` size: the commit word is a local_t */
  commitSize: number;
  dataOffset: number;
  dataSize: number;
}

export function parseHeaderPage(text: string): HeaderPage | null {
  const by = new Map<string, FieldDef>();
  for (const line of text.split('\n')) {
    const f = parseFieldLine(line);
    if (f && !by.has(f.name)) by.set(f.name, f);
  }
  const ts = by.get('timestamp');
  const commit = by.get('commit');
  const data = by.get('data');
  if (!ts || !commit || !data) return null;
  if (ts.size !== 8 || (commit.size !== 4 && commit.size !== 8)) return null;
  return {
    tsOffset: ts.offset,
    tsSize: ts.size,
    commitOffset: commit.offset,
    commitSize: commit.size,
    dataOffset: data.offset,
    dataSize: data.size,
  };
}

/**
 * `events/header_event` of every kernel since 2.6.31 describes the compressed entry header
 * (`type_len : 5 bits`, `time_delta : 27 bits`). The older layout (kbuffer's "old format") is not
 * supported.
 */
export function isCurrentHeaderEvent(text: string): boolean {
  return /type_len\s*:\s*5 bits/.test(text) && /time_delta\s*:\s*27 bits/.test(text);
}
