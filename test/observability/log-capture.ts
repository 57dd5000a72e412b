/** A log destination that keeps every line, raw and parsed, for tests to read. */
export interface CapturedLog {
  stream: { write(line: string): void };
  raw: string[];
  lines: Record<string, unknown>[];
}

export function captureLog(): CapturedLog {
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];
  return {
    raw,
    lines,
    stream: {
      write(line: string) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  };
}
