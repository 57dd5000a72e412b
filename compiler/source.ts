import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';

/** Files larger than this are refused before parsing: no journey needs it, and it bounds work. */
export const MAX_FILE_BYTES = 256 * 1024;
/** Aliases (`*name`) allowed per file; enough for shared snippets, far too few for an alias bomb. */
export const MAX_ALIASES = 50;

/** A path into a YAML document: map keys and list indexes. */
export type YamlPath = readonly (string | number)[];

/** 1-based line and column. */
export interface Position {
  line: number;
  column: number;
}

/** A parsed YAML file that can answer "where is this path?". */
export interface SourceFile {
  value: unknown;
  /** Position of the key (when `key`) or the value at `path`; falls back to the nearest existing ancestor. */
  locate(path: YamlPath, key?: boolean): Position;
}

/** A problem found while reading the YAML itself, before any schema check. */
export interface SourceProblem {
  code: 'yaml_syntax' | 'yaml_alias_limit' | 'unquoted_expression';
  message: string;
  hint: string;
  position: Position;
}

/** Parses YAML text keeping positions; returns problems instead of throwing. */
export function parseYaml(text: string): { file?: SourceFile; problems: SourceProblem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true });
  const at = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => ({
        code: 'yaml_syntax' as const,
        message: `YAML syntax error: ${firstLine(e.message)}`,
        hint: syntaxHint(e.code),
        position: at(e.pos[0]),
      })),
    };
  }
  let aliases = 0;
  let firstAlias: number | undefined;
  visit(doc, {
    Alias(_, node) {
      aliases++;
      if (aliases > MAX_ALIASES && firstAlias === undefined) firstAlias = node.range?.[0] ?? 0;
    },
  });
  const aliasProblem = (offset: number): SourceProblem => ({
    code: 'yaml_alias_limit',
    message: `too many YAML aliases (more than ${MAX_ALIASES} uses of *name, or aliases that expand exponentially)`,
    hint: 'write the repeated parts out, or use fewer anchors; this limit protects the engine from "billion laughs" files',
    position: at(offset),
  });
  if (firstAlias !== undefined) return { problems: [aliasProblem(firstAlias)] };
  // `set: { seen: {{ now }} }` is valid YAML, but a map inside a map key, not an expression:
  // without quotes the value silently becomes an object. No key of the language is a collection.
  const unquoted: SourceProblem[] = [];
  visit(doc, {
    Pair(_, pair, path) {
      if (isMap(pair.key) || isSeq(pair.key)) {
        // Point at the outer `{` of `{{`: the map that holds this odd pair.
        const holder = path[path.length - 1] as Node | undefined;
        const offset = holder?.range?.[0] ?? (pair.key as Node).range?.[0] ?? 0;
        unquoted.push({
          code: 'unquoted_expression',
          message: 'a {{ ... }} expression (or a map used as a key) must be quoted',
          hint: "put quotes around it, e.g. last_seen: \"{{ now }}\" or subject: 'Hi {{ profile.first_name }}'",
          position: at(offset),
        });
      }
    },
  });
  if (unquoted.length) return { problems: unquoted };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    if (e instanceof ReferenceError && /alias/i.test(e.message)) return { problems: [aliasProblem(0)] };
    throw e;
  }
  return { file: { value, locate: (path, key = false) => at(locateOffset(doc, path, key)) }, problems: [] };
}

function locateOffset(doc: Document, path: YamlPath, wantKey: boolean): number {
  let node: unknown = doc.contents;
  let keyNode: Node | undefined;
  let lastFound: Node | undefined = (doc.contents as Node | null) ?? undefined;
  let complete = true;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) {
        complete = false;
        break;
      }
      keyNode = pair.key as Node;
      node = pair.value;
      lastFound = (node as Node | null) ?? keyNode;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      keyNode = undefined;
      node = node.items[seg];
      lastFound = node as Node;
    } else {
      complete = false;
      break;
    }
  }
  // A missing key is reported at the key of the map that should hold it: that is where the author looks.
  const target = complete ? (wantKey && keyNode ? keyNode : (node as Node | null) ?? keyNode) : keyNode ?? lastFound;
  return target?.range?.[0] ?? 0;
}

function firstLine(s: string): string {
  return s.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

function syntaxHint(code: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'each key may appear once per map; remove or merge the repeated one';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
    case 'UNEXPECTED_TOKEN':
      return 'check indentation (spaces, not tabs) and that brackets and quotes are closed';
    case 'MULTIPLE_DOCS':
      return 'one journey or template per file; remove the extra "---"';
    default:
      return 'check indentation (spaces, not tabs), quotes and the ": " after each key';
  }
}
