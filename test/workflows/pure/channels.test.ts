import type { TemplatePlan } from '../../../compiler/plan';
import { sendTemplates } from '../../../workflows/pure/channels';

const nudge: TemplatePlan = {
  id: 'nudge',
  channel: 'email',
  category: 'marketing',
  subject: 'One step left',
  text: 'Finish setting up.',
  alternatives: { sms: { body: 'One step left: {{ data.link }}' } },
  file: 'templates/nudge.yaml',
};

describe('the templates a send tries', () => {
  test('a plain send uses the template as it is, with the step category', () => {
    expect(sendTemplates(nudge, undefined, 'marketing')).toEqual([nudge]);
    expect(sendTemplates(nudge, undefined, 'transactional')).toEqual([{ ...nudge, category: 'transactional' }]);
  });

  test('channels give one single-channel template each, in order, from the top level or the section', () => {
    expect(sendTemplates(nudge, ['sms', 'email'], 'marketing')).toEqual([
      { id: 'nudge', channel: 'sms', category: 'marketing', body: 'One step left: {{ data.link }}', file: 'templates/nudge.yaml' },
      { id: 'nudge', channel: 'email', category: 'marketing', subject: 'One step left', text: 'Finish setting up.', file: 'templates/nudge.yaml' },
    ]);
  });
});
