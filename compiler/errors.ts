import type { Position, SourceFile, YamlPath } from './source';

/** One problem in a definitions file: data first, rendered by `formatError`. */
export interface CompileError {
  code: string;
  /** File relative to the working directory the compiler was given. */
  file: string;
  line: number;
  column: number;
  /** Dotted/indexed YAML path, e.g. `steps[2].send`. */
  path: string;
  message: string;
  hint: string;
  /** Id of the innermost step the problem is in. */
  step?: string;
}

/** `journeys/cart.yaml:14:7 step "reminder": message` plus the hint on an indented second line. */
export function formatError(e: CompileError): string {
  const where = `${e.file}:${e.line}:${e.column}`;
  const step = e.step === undefined ? '' : ` step "${e.step}"`;
  const hint = e.hint === '' ? '' : `\n    hint: ${e.hint}`;
  return `${where}${step}: ${e.message}${hint}`;
}

/** Renders a path as `steps[2].send`, quoting keys that are not plain words (condition paths). */
export function pathToString(path: YamlPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Where to point: at a key, or at its value (the default). */
export type Anchor = 'key' | 'value';

/** `journeys/cart.yaml:14:7 warning: message` plus the hint: something that works but is likely not meant. */
export function formatWarning(w: CompileError): string {
  const where = `${w.file}:${w.line}:${w.column}`;
  const step = w.step === undefined ? '' : ` step "${w.step}"`;
  const hint = w.hint === '' ? '' : `\n    hint: ${w.hint}`;
  return `${where}${step}: warning: ${w.message}${hint}`;
}

/** Collects errors (and warnings, which do not fail the file) for one file, turning YAML paths into positions. */
export class Reporter {
  readonly errors: CompileError[] = [];
  readonly warnings: CompileError[] = [];

  constructor(
    readonly file: string,
    private readonly source?: SourceFile,
  ) {}

  /** Records an error at `path`; `step` names the enclosing step, if any. */
  add(code: string, path: YamlPath, message: string, hint: string, opts: { anchor?: Anchor; step?: string } = {}): void {
    const pos: Position = this.source?.locate(path, opts.anchor === 'key') ?? { line: 1, column: 1 };
    this.errors.push({
      code,
      file: this.file,
      line: pos.line,
      column: pos.column,
      path: pathToString(path),
      message,
      hint,
      ...(opts.step === undefined ? {} : { step: opts.step }),
    });
  }

  /** Records a warning at `path`: reported by validate, but the file still compiles. */
  warn(code: string, path: YamlPath, message: string, hint: string, opts: { anchor?: Anchor; step?: string } = {}): void {
    const before = this.errors.length;
    this.add(code, path, message, hint, opts);
    this.warnings.push(...this.errors.splice(before));
  }

  /** Records an error at a known position (YAML syntax problems have no path). */
  addAt(code: string, line: number, column: number, message: string, hint: string): void {
    this.errors.push({ code, file: this.file, line, column, path: '', message, hint });
  }

  /** Number of errors so far; compare before/after a check to see whether it failed. */
  get count(): number {
    return this.errors.length;
  }
}
