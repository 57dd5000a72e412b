import path from 'node:path';
import { loadConfig } from '../../worker/config';
import { documentedKeys, renderConfigTable, renderEnvExample, staleConfigDocs, TABLE_END, TABLE_START, withConfigTable } from '../../worker/config-docs';

const root = path.join(__dirname, '..', '..');

/** KEY=value lines of an env file, with double-quoted values unquoted as a shell would. */
function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2].startsWith('"') ? (JSON.parse(m[2]) as string) : m[2];
  }
  return env;
}

describe('configuration docs generated from the schema', () => {
  test('.env.example and the README table match worker/config.ts', () => {
    const stale = staleConfigDocs(root);
    if (stale.length > 0) {
      throw new Error(`${stale.join(' and ')} out of date with worker/config.ts; run \`npm run config-docs\` and commit the result`);
    }
  });

  test('every key has a plain-language description and appears in both documents', () => {
    const keys = documentedKeys();
    const envExample = renderEnvExample(keys);
    const table = renderConfigTable(keys);
    for (const k of keys) {
      expect(k.meaning.length).toBeGreaterThan(10);
      expect(envExample).toContain(`\n${k.key}=`);
      expect(table).toContain(`| \`${k.key}\` |`);
    }
  });

  test('.env.example copied as it is configures exactly the defaults', () => {
    const env = parseEnvFile(renderEnvExample());
    expect(Object.keys(env)).toEqual(documentedKeys().map((k) => k.key));
    expect(loadConfig(env)).toEqual(loadConfig({}));
  });

  test('a key whose absence means more than a value is left empty and explained, in both documents', () => {
    const env = parseEnvFile(renderEnvExample());
    expect(env.TEMPORAL_ADDRESS).toBe('');
    expect(renderEnvExample()).toContain('Empty: embedded dev server on `127.0.0.1:7233`.');
    expect(renderConfigTable()).toContain('| `TEMPORAL_ADDRESS` | embedded dev server on `127.0.0.1:7233` |');
    expect(renderConfigTable()).toContain('| `UNBROKEN_WRITE_KEY` | generated into `.data/write-key` |');
    expect(renderConfigTable()).toContain('| `TEMPORAL_NAMESPACE` | `default` |');
  });

  test('only the README text between the markers is replaced', () => {
    const readme = `# Title\n\nProse before.\n\n${TABLE_START}\nold table\n${TABLE_END}\n\nProse after.\n`;
    expect(withConfigTable(readme, '| new |')).toBe(`# Title\n\nProse before.\n\n${TABLE_START}\n| new |\n${TABLE_END}\n\nProse after.\n`);
    expect(() => withConfigTable('# no markers\n', '| new |')).toThrow(`README.md needs the markers ${TABLE_START} and ${TABLE_END}`);
  });
});
