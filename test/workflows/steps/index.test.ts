import type { StepKind } from '../../../compiler/plan';
import { stepHandlers } from '../../../workflows/steps/index';

// Checked by `tsc` (npm test): a table that leaves out a step kind must not compile.
// @ts-expect-error 'exit' and the other kinds have no handler here
const incomplete: typeof stepHandlers = { wait: stepHandlers.wait };

test('every step kind the compiler emits has a handler', () => {
  const kinds: StepKind[] = ['wait', 'wait_until', 'wait_until_date', 'wait_for', 'send', 'update_profile', 'if', 'split', 'do', 'exit'];
  expect(Object.keys(stepHandlers).sort()).toEqual([...kinds].sort());
  for (const kind of kinds) expect(typeof stepHandlers[kind]).toBe('function');
  expect(incomplete).toBeDefined();
});
