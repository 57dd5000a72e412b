/**
 * `.env.example` and the README's configuration table, rendered from the configuration schema
 * (`npm run config-docs`), so the documentation cannot drift from what `loadConfig` accepts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CONFIG_GROUPS, configDocs, configSchema, type ConfigKeyDoc } from './config';

/** The README lines between these markers are generated; the prose around them is not. */
export const TABLE_START = '<!-- config-table:start -->';
export const TABLE_END = '<!-- config-table:end -->';

/** One configuration key as the docs show it. */
export interface DocumentedKey extends ConfigKeyDoc {
  key: string;
  /** The zod description: the key's meaning in plain words. */
  meaning: string;
  /** The schema's default as the environment would spell it; absent when there is none. */
  schemaDefault?: string;
}

/** Every key of the schema with its documentation; throws when a key lacks either. */
export function documentedKeys(): DocumentedKey[] {
  return Object.entries(configSchema.shape).map(([key, type]: [string, z.ZodType]) => {
    const doc = configDocs.get(type);
    if (!type.description || !doc) throw new Error(`${key} in worker/config.ts has no documentation: wrap it in documented(...)`);
    const schemaDefault = type instanceof z.ZodDefault ? String(type.def.defaultValue) : undefined;
    return { key, meaning: type.description, schemaDefault, ...doc };
  });
}

const HEADER = `# Unbroken configuration. Every key is read from the process environment, once, at start
# (worker/config.ts); a bad value stops the process with every problem listed.
# An empty value counts as unset. Values shown are the defaults; for keys left empty, the text
# above them says what happens when they are unset.
# Copy this file to .env and load it the way your process manager does, or in a shell:
#   set -a; . ./.env; set +a
# Generated from the schema in worker/config.ts by \`npm run config-docs\`: edit it there.`;

const WIDTH = 96;

/** Wraps text into `# ` comment lines of at most WIDTH characters; `code spans` and long words stay whole. */
function comment(text: string): string[] {
  const lines: string[] = [];
  let line = '#';
  for (const word of text.match(/(?:`[^`]*`|[^\s`])+/g) ?? []) {
    if (line !== '#' && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  return [...lines, line];
}

/** A description as a sentence; a first word such as `host:port` or `mTLS` keeps its spelling. */
function sentence(text: string): string {
  const capitalized = /^[a-z]+\b(?![:])/.test(text) && !/^[a-z]+[A-Z]/.test(text) ? `${text.charAt(0).toUpperCase()}${text.slice(1)}` : text;
  return /[.!?]$/.test(capitalized) ? capitalized : `${capitalized}.`;
}

/** The value `.env.example` shows: the default, or empty where "unset" means more than a value. */
function exampleValue(k: DocumentedKey): string {
  if (k.unset !== undefined || k.schemaDefault === undefined) return '';
  return /[\s"'#<>$`\\]/.test(k.schemaDefault) ? JSON.stringify(k.schemaDefault) : k.schemaDefault;
}

/** The whole `.env.example`. */
export function renderEnvExample(keys: DocumentedKey[] = documentedKeys()): string {
  const out = [HEADER];
  for (const group of CONFIG_GROUPS) {
    const inGroup = keys.filter((k) => k.group === group);
    if (inGroup.length === 0) continue;
    out.push('', `# --- ${group} `.padEnd(WIDTH, '-'));
    for (const k of inGroup) {
      const text = [sentence(k.meaning), k.unset === undefined ? '' : `Empty: ${k.unset}.`, k.details ?? ''].filter(Boolean).join(' ');
      out.push('', ...comment(text), `${k.key}=${exampleValue(k)}`);
    }
  }
  return `${out.join('\n')}\n`;
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** The README's `| variable | default | meaning |` table, one row per key. */
export function renderConfigTable(keys: DocumentedKey[] = documentedKeys()): string {
  const rows = keys.map((k) => {
    const byDefault = k.unset ?? (k.schemaDefault === undefined ? '' : `\`${k.schemaDefault}\``);
    return `| \`${k.key}\` | ${byDefault ? `${cell(byDefault)} ` : ''}| ${cell(k.meaning)} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** The README with the generated table put between its markers; throws when they are missing. */
export function withConfigTable(readme: string, table: string = renderConfigTable()): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md needs the markers ${TABLE_START} and ${TABLE_END} around the configuration table`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
}

/** The generated files under `root`, by relative path, as they should read byte for byte. */
export function renderConfigDocs(root: string): Record<string, string> {
  return {
    '.env.example': renderEnvExample(),
    'README.md': withConfigTable(fs.readFileSync(path.join(root, 'README.md'), 'utf8')),
  };
}

/** Writes `.env.example` and the README table under `root`; returns the files written. */
export function writeConfigDocs(root: string): string[] {
  return Object.entries(renderConfigDocs(root)).map(([name, text]) => {
    const file = path.join(root, name);
    fs.writeFileSync(file, text);
    return file;
  });
}

/** Files under `root` that differ from what the schema generates; empty when current. */
export function staleConfigDocs(root: string): string[] {
  return Object.entries(renderConfigDocs(root))
    .filter(([name, text]) => {
      const file = path.join(root, name);
      return !fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text;
    })
    .map(([name]) => name);
}
