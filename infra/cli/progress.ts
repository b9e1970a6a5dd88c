/**
 * Progress of a long read or a redrive, on stderr so stdout stays the answer alone (a table or
 * one JSON document, fit for a pipe). On a terminal it is one line, rewritten in place and wiped
 * when the command ends; otherwise (a log, a CI job) a plain line now and then, and none at all
 * from a command that ends within `PLAIN_INTERVAL_MS`.
 */

export interface ProgressStream {
  write(text: string): void;
  /** True when stderr is a terminal. */
  isTTY?: boolean;
  /** The terminal's width, to keep the line on one row. */
  columns?: number;
}

export interface Progress {
  update(line: string): void;
  /** Wipes the terminal line (nothing to do otherwise). */
  done(): void;
}

/** When stderr is not a terminal: the first line after this long, then at most one this often. */
export const PLAIN_INTERVAL_MS = 5_000;

export function progressOn(stream: ProgressStream, now: () => number = Date.now): Progress {
  let shown = false;
  let lastPlainAt = now();
  return {
    update(line) {
      if (stream.isTTY) {
        const width = Math.max(10, (stream.columns ?? 80) - 1);
        const fitted = line.length > width ? `${line.slice(0, width - 1)}…` : line;
        // \r back to the start of the line, ESC[K to clear what the longer last line left.
        stream.write(`\r\u001b[K${fitted}`);
        shown = true;
        return;
      }
      const at = now();
      if (at - lastPlainAt < PLAIN_INTERVAL_MS) return;
      lastPlainAt = at;
      stream.write(`${line}\n`);
    },
    done() {
      if (!shown) return;
      stream.write('\r\u001b[K');
      shown = false;
    },
  };
}
