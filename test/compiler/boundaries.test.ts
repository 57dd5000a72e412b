import fs from 'node:fs';
import path from 'node:path';

// The compiler takes the activity catalog from its caller; activities/ may use compiler types, never the reverse.
const root = path.join(__dirname, '..', '..');
const sources = (dir: string) =>
  fs
    .readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ file: `${dir}/${f.split(path.sep).join('/')}`, text: fs.readFileSync(path.join(root, dir, f), 'utf8') }));

describe('compiler/ boundaries', () => {
  test('no compiler file imports from activities/, not even a type', () => {
    const offenders = sources('compiler').filter(({ text }) => /['"](\.\.\/)+activities[/'"]/.test(text));
    expect(offenders.map((o) => o.file)).toEqual([]);
  });

  test('no compiler file loads a module lazily with require()', () => {
    const offenders = sources('compiler').filter(({ text }) => /\brequire\(/.test(text));
    expect(offenders.map((o) => o.file)).toEqual([]);
  });

  test('templating/ imports neither compiler/ nor activities/, so both may share it', () => {
    const offenders = sources('templating').filter(({ text }) => /['"](\.\.\/)+(compiler|activities)[/'"]/.test(text));
    expect(offenders.map((o) => o.file)).toEqual([]);
  });
});
