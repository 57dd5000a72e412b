/** `unbroken feedback`: the score math on known answer sets, the periods, and the real command on SQLite. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { buildFeedback, periodStart, surveyScore, type FeedbackReport } from '../../cli/feedback';
import { SqliteProfileStore } from '../../profiles/sqlite';
import type { SurveyAnswer, SurveyAsk } from '../../profiles/store';

const root = path.resolve(__dirname, '..', '..');

describe('surveyScore', () => {
  it('NPS is % promoters minus % detractors: 10 answers, 3 promoters and 2 detractors give 10.0', () => {
    expect(surveyScore('nps', [10, 9, 9, 8, 8, 7, 7, 7, 6, 0])).toBe(10);
  });

  it('NPS rounds to one decimal and goes negative when detractors lead', () => {
    expect(surveyScore('nps', [9, 3, 5])).toBe(-33.3);
    expect(surveyScore('nps', [10, 10, 10])).toBe(100);
  });

  it('CSAT is the % of 4 and 5, CES the mean, thumbs the % up', () => {
    expect(surveyScore('csat', [5, 4, 3, 1, 2, 4])).toBe(50);
    expect(surveyScore('ces', [7, 6, 2])).toBe(5);
    expect(surveyScore('ces', [1, 2, 2])).toBe(1.67);
    expect(surveyScore('thumbs', [1, 0, 1])).toBe(66.7);
  });

  it('is null without answers', () => {
    expect(surveyScore('nps', [])).toBeNull();
  });
});

describe('periodStart', () => {
  it('is the UTC day, the Monday of the week, or the first of the month', () => {
    // 2026-11-29 is a Sunday.
    expect(periodStart('2026-11-29T23:30:00Z', 'day')).toBe('2026-11-29');
    expect(periodStart('2026-11-29T23:30:00Z', 'week')).toBe('2026-11-23');
    expect(periodStart('2026-11-23T00:00:00Z', 'week')).toBe('2026-11-23');
    expect(periodStart('2026-11-29T23:30:00Z', 'month')).toBe('2026-11-01');
  });
});

const ask = (run: string, askedAt: string, stepId = 'ask'): SurveyAsk => ({
  surveyId: 'delivery-nps',
  customerId: run,
  journeyId: 'nps-after-delivery',
  workflowId: `nps:${run}:1`,
  stepId,
  askedAt,
});

const answer = (run: string, score: number, at: string, comment?: string): SurveyAnswer => ({
  surveyId: 'delivery-nps',
  customerId: run,
  journeyId: 'nps-after-delivery',
  workflowId: `nps:${run}:1`,
  stepId: 'ask',
  scale: 'nps',
  score,
  firstAnsweredAt: at,
  answeredAt: at,
  ...(comment === undefined ? {} : { comment }),
});

describe('buildFeedback', () => {
  it('counts each run in the month of its first ask: reminders apart, a late answer in its cohort, comments latest first', () => {
    const report = buildFeedback(
      'delivery-nps',
      'nps',
      {
        asks: [
          ask('a', '2026-10-30T10:00:00Z'),
          ask('a', '2026-11-03T10:00:00Z', 'reminder'),
          ask('b', '2026-10-31T10:00:00Z'),
          ask('c', '2026-11-02T10:00:00Z'),
          { ...ask('x', '2026-11-02T10:00:00Z'), surveyId: 'other' },
        ],
        answers: [answer('a', 3, '2026-11-04T10:00:00Z', 'Too slow'), answer('b', 10, '2026-11-01T09:00:00Z', 'Great'), answer('c', 8, '2026-11-02T12:00:00Z')],
      },
      'month',
    );
    expect(report.periods).toEqual([
      {
        start: '2026-10-01',
        sent: 2,
        reminders: 1,
        answered: 2,
        response_rate: 1,
        score: 0,
        scores: { 3: 1, 10: 1 },
        promoters: 1,
        passives: 0,
        detractors: 1,
        comments: [
          { at: '2026-11-04T10:00:00Z', customer: 'a', score: 3, comment: 'Too slow' },
          { at: '2026-11-01T09:00:00Z', customer: 'b', score: 10, comment: 'Great' },
        ],
      },
      { start: '2026-11-01', sent: 1, reminders: 0, answered: 1, response_rate: 1, score: 0, scores: { 8: 1 }, promoters: 0, passives: 1, detractors: 0, comments: [] },
    ]);
  });

  it('gives a response rate below one when runs go unanswered', () => {
    const report = buildFeedback('delivery-nps', 'nps', { asks: [ask('a', '2026-11-02T10:00:00Z'), ask('b', '2026-11-02T11:00:00Z'), ask('c', '2026-11-02T12:00:00Z')], answers: [answer('a', 9, '2026-11-02T13:00:00Z')] }, 'day');
    expect(report.periods.map((p) => [p.start, p.sent, p.answered, p.response_rate, p.score])).toEqual([['2026-11-02', 3, 1, 0.3333, 100]]);
  });
});

describe('unbroken feedback on a SQLite store', () => {
  let dir: string;
  let file: string;

  function unbroken(args: string[]): { code: number | null; stdout: string; stderr: string } {
    const env = { ...process.env, DATABASE_URL: `sqlite:${file}`, UNBROKEN_DATA_DIR: dir };
    const r = spawnSync(process.execPath, [path.join(root, 'bin', 'unbroken.js'), 'feedback', ...args], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-feedback-'));
    file = path.join(dir, 'profiles.sqlite');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A deployed journey whose template asks `delivery-nps`, and 10 runs asked and answered with known scores. */
  async function seed(scores: number[]): Promise<void> {
    const store = new SqliteProfileStore(file);
    const plan = { journey: 'nps-after-delivery', templates: { 'delivery-nps': { survey: { id: 'delivery-nps', scale: 'nps', question: 'Recommend us?' } } } };
    await store.deployJourneys([{ journeyId: 'nps-after-delivery', version: 'v1', plan }], '2026-11-01T00:00:00Z');
    await store.close();
    const db = new Database(file);
    const insertAsk = db.prepare("INSERT INTO survey_asks VALUES (?, ?, 'delivery-nps', 'nps-after-delivery', ?, 'ask', ?)");
    const insertAnswer = db.prepare(
      "INSERT INTO survey_answers VALUES (?, 'delivery-nps', ?, 'nps-after-delivery', 'ask', 'nps', ?, ?, ?, ?)",
    );
    scores.forEach((score, i) => {
      const run = `nps-after-delivery:c${i}:1`;
      insertAsk.run(`${run}/ask`, `c${i}`, run, `2026-11-0${2 + (i % 3)}T10:00:00.000Z`);
      insertAnswer.run(run, `c${i}`, score, i === 0 ? 'Parcel arrived broken' : null, '2026-11-05T10:00:00.000Z', '2026-11-05T10:00:00.000Z');
    });
    db.close();
  }

  it('--json computes NPS from the answers: 3 promoters and 2 detractors of 10 give 10', async () => {
    await seed([0, 6, 7, 7, 7, 8, 8, 9, 9, 10]);
    const r = unbroken(['--survey', 'delivery-nps', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as FeedbackReport;
    expect(report).toMatchObject({ survey: 'delivery-nps', scale: 'nps', by: 'month' });
    expect(report.periods).toHaveLength(1);
    expect(report.periods[0]).toMatchObject({ start: '2026-11-01', sent: 10, answered: 10, response_rate: 1, score: 10, promoters: 3, detractors: 2 });
    expect(report.periods[0].comments).toEqual([{ at: '2026-11-05T10:00:00.000Z', customer: 'c0', score: 0, comment: 'Parcel arrived broken' }]);
  });

  it('prints a table by day with the comments, choosing the one known survey without --survey', async () => {
    await seed([0, 6, 7, 7, 7, 8, 8, 9, 9, 10]);
    const r = unbroken(['--by', 'day', '--since', '2026-11-03']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('delivery-nps (nps), by day');
    expect(lines[1]).toMatch(/^period\s+sent\s+reminders\s+answered\s+response\s+NPS$/);
    // Runs asked on Nov 2 are before --since.
    expect(lines.slice(2, 4).map((l) => l.split(/\s+/))).toEqual([
      ['2026-11-03', '3', '0', '3', '100.0%', '0.0'],
      ['2026-11-04', '3', '0', '3', '100.0%', '+33.3'],
    ]);
    expect(r.stdout).not.toContain('Parcel arrived broken');
  });

  it('an unknown survey exits 1 naming the known ones; a bad --by or --since is a usage error', async () => {
    await seed([9]);
    const unknown = unbroken(['--survey', 'delivery-csat']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('unbroken: no survey "delivery-csat" (known: delivery-nps)\n');
    const by = unbroken(['--by', 'fortnight']);
    expect(by.code).toBe(2);
    expect(by.stderr).toContain('--by "fortnight" is not one of day, week, month');
    const since = unbroken(['--since', 'yesterday']);
    expect(since.code).toBe(2);
    expect(since.stderr).toContain('--since "yesterday" is not an ISO time');
  });

  it('never creates or migrates a store: a missing one says to run unbroken migrate', () => {
    const r = unbroken(['--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/run `unbroken migrate` first/);
    expect(fs.existsSync(file)).toBe(false);
  });
});
