import { compileJourneySource, compileTemplateSource, formatWarning } from '../../compiler/index';
import type { TemplatePlan } from '../../compiler/plan';
import { fakeActivities, fakeBuiltinPolicies } from './helpers';

const names = (id: string) => ({ file: `templates/${id}.yaml`, errorFile: `templates/${id}.yaml` });

function template(id: string, body: string): TemplatePlan {
  const result = compileTemplateSource(`template: ${id}\n${body}`, names(id));
  expect(result.errors).toEqual([]);
  return result.plan as TemplatePlan;
}

const NPS = `channel: email
subject: "How did we do, {{ profile.first_name | default: 'there' }}?"
survey: { id: delivery-nps, scale: nps, question: "How likely are you to recommend us to a friend?" }
`;

describe('survey templates', () => {
  it('compile the survey into the plan; an email needs no text or html beside it', () => {
    expect(template('delivery-nps', NPS)).toMatchObject({
      channel: 'email',
      survey: { id: 'delivery-nps', scale: 'nps', question: 'How likely are you to recommend us to a friend?' },
    });
  });

  it('accept the placement variables where they belong, and an sms survey without a body', () => {
    const placed = template(
      'placed',
      `${NPS}text: "Tell us:\\n{{ survey_links }}\\nOr open {{ survey_url }}"\nhtml: "<p>Tell us:</p>{{ survey_buttons }}"\nsms:\n  from: Shop\n`,
    );
    expect(placed.alternatives).toEqual({ sms: { from: 'Shop' } });
    expect(template('sms-csat', 'channel: sms\nsurvey: { id: support-csat, scale: csat, question: "How did we do?" }\n').survey?.scale).toBe('csat');
  });

  it('warn that an sms survey takes more than one segment: its signed link alone is longer than one', () => {
    const sms = compileTemplateSource('template: sms-ask\nchannel: sms\nsurvey: { id: a, scale: thumbs, question: Useful? }\n', names('sms-ask'));
    expect(sms.warnings.map((w) => [w.path, w.message])).toEqual([
      ['survey', 'sms body is at least 279 GSM-7 characters (counting 270 for the survey link): 2 segments, each billed as one message'],
    ]);
    expect(compileTemplateSource(`template: email-ask\n${NPS}`, names('email-ask')).warnings).toEqual([]);
  });

  it('leave templates without a survey as they were (no survey key, so their versions stay)', () => {
    expect('survey' in template('plain', 'channel: email\nsubject: Hi\ntext: Hello\n')).toBe(false);
  });

  it('still need a subject for email and text for templates without a survey', () => {
    const result = compileTemplateSource('template: no-text\nchannel: email\nsubject: Hi\n', names('no-text'));
    expect(result.errors.map((e) => e.message)).toEqual(['an email template needs "text" or "html" (or both)']);
    const noSubject = compileTemplateSource('template: no-subject\nchannel: email\nsurvey: { id: a, scale: thumbs, question: Useful? }\n', names('no-subject'));
    expect(noSubject.errors.map((e) => e.message)).toEqual(['an email template needs a "subject"']);
  });

  it('refuse an empty question', () => {
    const result = compileTemplateSource('template: blank\nchannel: sms\nsurvey: { id: a, scale: nps, question: "  " }\n', names('blank'));
    expect(result.errors.map((e) => [e.line, e.message])).toEqual([[3, 'the survey question must not be empty']]);
  });
});

describe('survey_reminders', () => {
  const env = (templates: TemplatePlan[]) => ({
    templates: new Map(templates.map((t) => [t.id, t])),
    activities: fakeActivities,
    builtinPolicies: fakeBuiltinPolicies,
  });
  const journey = (extra: string) =>
    compileJourneySource(`journey: ask\ntrigger:\n  event: order_delivered\n${extra}steps:\n  - send: delivery-nps\n`, { file: 'journeys/ask.yaml', errorFile: 'journeys/ask.yaml' }, env([template('delivery-nps', NPS)]));

  it('compiles into the plan only when written', () => {
    expect(journey('survey_reminders: 0\n').plan?.surveyReminders).toBe(0);
    expect(journey('survey_reminders: 2\n').plan?.surveyReminders).toBe(2);
    const plain = journey('').plan;
    expect(plain).toBeDefined();
    expect('surveyReminders' in plain!).toBe(false);
  });

  it('changes the version only when written', () => {
    expect(journey('').plan?.version).toBe(journey('').plan?.version);
    expect(journey('survey_reminders: 1\n').plan?.version).not.toBe(journey('').plan?.version);
  });

  it('counts the asks of one run along each path: branches count their longest, not their sum', () => {
    const compile = (text: string) =>
      compileJourneySource(`journey: ask\ntrigger:\n  event: order_delivered\n${text}`, { file: 'journeys/ask.yaml', errorFile: 'journeys/ask.yaml' }, env([template('delivery-nps', NPS)]));
    const branches = 'steps:\n  - send: delivery-nps\n  - if: { profile.vip: true }\n    then: [{ send: delivery-nps }]\n    else: [{ send: delivery-nps }]\n';
    expect(compile(branches)).toMatchObject({ errors: [], warnings: [] });
    const strict = compile(`survey_reminders: 0\n${branches}`);
    // A warning, not an error: the journey runs, and the extra sends are skipped at send time.
    expect(strict.plan).toBeDefined();
    expect(strict.warnings.map((e) => [e.code, e.line, e.message])).toEqual([
      [
        'survey_asked_too_often',
        4,
        'survey "delivery-nps" can be sent 2 times in one run, but only 1 is allowed (the question and survey_reminders: 0 more); the sends after that are always skipped as survey_fatigue',
      ],
    ]);
  });

  it('warns, by default, about a third ask nested in the wait_for timeouts, naming the fix', () => {
    const nag = [
      'steps:',
      '  - send: delivery-nps',
      '  - wait_for: { event: survey_answered, within: 4d }',
      '    on_timeout:',
      '      - send: delivery-nps',
      '      - wait_for: { event: survey_answered, within: 4d }',
      '        on_timeout: [{ send: delivery-nps }]',
      '',
    ].join('\n');
    const result = compileJourneySource(`journey: nag\ntrigger:\n  event: order_delivered\n${nag}`, { file: 'journeys/nag.yaml', errorFile: 'journeys/nag.yaml' }, env([template('delivery-nps', NPS)]));
    expect(result.errors).toEqual([]);
    expect(result.warnings.map(formatWarning)).toEqual([
      'journeys/nag.yaml:4:1: warning: survey "delivery-nps" can be sent 3 times in one run, but only 2 are allowed (the question and survey_reminders: 1 more); the sends after that are always skipped as survey_fatigue\n' +
        '    hint: set survey_reminders: 2 at the top of the journey, or send the survey fewer times',
    ]);
  });

  it('must be a whole number from 0 to 10', () => {
    expect(journey('survey_reminders: 1.5\n').errors.map((e) => e.message)).toEqual(['"survey_reminders" must be a whole number, got the number 1.5']);
    expect(journey('survey_reminders: -1\n').errors.map((e) => e.message)).toEqual(['"survey_reminders" must be at least 0']);
  });
});
