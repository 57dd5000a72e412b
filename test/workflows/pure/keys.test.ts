import { enteredRecordKey, stepKey, timelineRecordKey } from '../../../workflows/pure/keys';

const run = { workflowId: 'journey:cart:c1', firstExecutionRunId: 'run-1', version: 'v1' };

describe('idempotency keys', () => {
  // Runs in flight were recorded with these exact keys; a change would record their steps twice.
  test('a side effect is keyed by workflow, first run, version and step', () => {
    expect(stepKey(run, 'reminder')).toBe('journey:cart:c1/run-1/v1/reminder');
  });

  test('the entry record has its own key', () => {
    expect(enteredRecordKey(run)).toBe('journey:cart:c1/run-1/v1/entry/entered');
  });

  test('a timeline record is keyed by step, kind and its position in the timeline', () => {
    expect(timelineRecordKey(run, 'wait-1', 'event_received', 2)).toBe('journey:cart:c1/run-1/v1/wait-1/event_received/2');
    expect(timelineRecordKey(run, 'wait-1', 'event_received', 3)).not.toBe(timelineRecordKey(run, 'wait-1', 'event_received', 2));
  });
});
