import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { failureMessage, isPermanentActivityFailure } from '../../../workflows/pure/failure';

const activityFailure = (cause?: Error) => new ActivityFailure('activity failed', 'sendMessage', '1', RetryState.MAXIMUM_ATTEMPTS_REACHED, 'worker', cause);

describe('failureMessage', () => {
  test('an activity failure reads as the activity own error', () => {
    expect(failureMessage(activityFailure(ApplicationFailure.retryable('connect ECONNREFUSED', 'Error')))).toBe('connect ECONNREFUSED');
  });

  test('an activity failure without a cause keeps its own message', () => {
    expect(failureMessage(activityFailure())).toBe('activity failed');
  });

  test('other errors and thrown values read as themselves', () => {
    expect(failureMessage(new TypeError('x is undefined'))).toBe('x is undefined');
    expect(failureMessage('plain text')).toBe('plain text');
  });
});

describe('isPermanentActivityFailure', () => {
  test('only a non-retryable application failure inside an activity failure is permanent', () => {
    expect(isPermanentActivityFailure(activityFailure(ApplicationFailure.nonRetryable('550 mailbox unavailable', 'SmtpError')))).toBe(true);
    expect(isPermanentActivityFailure(activityFailure(ApplicationFailure.retryable('timeout', 'Error')))).toBe(false);
    expect(isPermanentActivityFailure(ApplicationFailure.nonRetryable('not from an activity'))).toBe(false);
  });
});
