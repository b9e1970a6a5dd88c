/** Width of a cell as a terminal shows it: code points, so `…` and `→` count as one. */
const widthOf = (text: string) => [...text].length;

const pad = (text: string, width: number, align: 'left' | 'right') => {
  const fill = ' '.repeat(Math.max(0, width - widthOf(text)));
  return align === 'right' ? fill + text : text + fill;
};

export interface TableOptions {
  /** Per column; numbers read best right-aligned. @default 'left' */
  align?: Array<'left' | 'right' | undefined>;
  /** Put before every line, to nest a table under a heading. @default '' */
  indent?: string;
}

/**
 * Rows as aligned columns under a header, two spaces apart, with no trailing spaces (so the
 * output pastes cleanly into tickets). Missing cells are blank.
 */
export function formatTable(
  header: string[],
  rows: Array<Array<string | undefined>>,
  options: TableOptions = {},
): string {
  const indent = options.indent ?? '';
  const columns = Math.max(header.length, ...rows.map((row) => row.length));
  const cells = [header, ...rows].map((row) =>
    Array.from({ length: columns }, (_, c) => row[c] ?? ''),
  );
  const widths = Array.from({ length: columns }, (_, c) =>
    Math.max(...cells.map((row) => widthOf(row[c] ?? ''))),
  );
  return cells
    .map((row) =>
      (
        indent +
        row.map((cell, c) => pad(cell, widths[c] ?? 0, options.align?.[c] ?? 'left')).join('  ')
      ).trimEnd(),
    )
    .join('\n');
}

/**
 * `key  value` lines with the values aligned; fields whose value is undefined are left out, so
 * callers can list every field and let the record decide which appear.
 */
export function formatFields(fields: Array<[string, string | undefined]>, indent = ''): string {
  const shown = fields.filter((field): field is [string, string] => field[1] !== undefined);
  const width = Math.max(0, ...shown.map(([key]) => widthOf(key)));
  return shown.map(([key, value]) => `${indent}${pad(key, width, 'left')}  ${value}`).join('\n');
}
