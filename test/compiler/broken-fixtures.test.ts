import fs from 'node:fs';
import path from 'node:path';
import { compileDefinitions, formatError, formatWarning } from '../../compiler/index';
import { fakeOptions } from './helpers';

// Each broken file sits beside `<name>.expected.txt` holding exactly the errors (and warnings) it must produce.
const root = path.join(__dirname, 'fixtures', 'broken');
const result = compileDefinitions(root, fakeOptions(root));
const rendered = new Map<string, string[]>();
for (const e of result.errors) rendered.set(e.file, [...(rendered.get(e.file) ?? []), formatError(e)]);
// Warnings follow the errors of their file: validate prints both.
for (const w of result.warnings) rendered.set(w.file, [...(rendered.get(w.file) ?? []), formatWarning(w)]);

const cases = ['journeys', 'templates', 'audiences'].flatMap((sub) =>
  fs
    .readdirSync(path.join(root, sub))
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => `${sub}/${f}`),
);

describe('broken definitions', () => {
  test.each(cases)('%s produces exactly the errors in its .expected.txt', (file) => {
    const expectedFile = path.join(root, file.replace(/\.ya?ml$/, '.expected.txt'));
    const expected = fs.existsSync(expectedFile) ? fs.readFileSync(expectedFile, 'utf8') : '';
    const actual = (rendered.get(file) ?? []).map((line) => `${line}\n`).join('');
    expect(actual).toBe(expected);
  });

  test('no broken journey yields a plan', () => {
    expect([...result.plans.keys()]).toEqual([]);
  });

  test('every error carries a code, a 1-based position, a path and a hint', () => {
    for (const e of result.errors) {
      expect(e.code).toMatch(/^[a-z_]+$/);
      expect(e.line).toBeGreaterThanOrEqual(1);
      expect(e.column).toBeGreaterThanOrEqual(1);
      expect(e.hint.length).toBeGreaterThan(0);
    }
    const unknownTemplate = result.errors.find((e) => e.code === 'unknown_template');
    expect(unknownTemplate).toMatchObject({ path: 'steps[1].send', step: 'reminder', file: 'journeys/unknown-template.yaml' });
  });
});
