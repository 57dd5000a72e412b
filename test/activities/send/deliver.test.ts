import { ApplicationFailure } from '@temporalio/common';
import { classifyFailure } from '../../../activities/send/deliver';
import { DeliveryError } from '../../../activities/mailer';

describe('classifyFailure', () => {
  it('retries network trouble, 4xx replies and plain errors', () => {
    expect(classifyFailure(new DeliveryError('greylisted', false, 451, undefined, 'RCPT TO'))).toBe('transient');
    expect(classifyFailure(new DeliveryError('refused', false, undefined, 'ECONNREFUSED'))).toBe('transient');
    expect(classifyFailure(new Error('socket hang up'))).toBe('transient');
    expect(classifyFailure(ApplicationFailure.retryable('later', 'X'))).toBe('transient');
  });

  it('treats a permanent DeliveryError and a non-retryable ApplicationFailure as permanent', () => {
    expect(classifyFailure(new DeliveryError('content rejected', true, 554, undefined, 'DATA'))).toBe('permanent');
    expect(classifyFailure(new DeliveryError('HTTP 422', true, 422))).toBe('permanent');
    expect(classifyFailure(ApplicationFailure.nonRetryable('bad number', 'PermanentDeliveryError'))).toBe('permanent');
  });

  it('calls a refused recipient (550/551/553 at RCPT TO) a hard bounce, and nothing else', () => {
    for (const status of [550, 551, 553]) {
      expect(classifyFailure(new DeliveryError('no such user', true, status, undefined, 'RCPT TO'))).toBe('hard_bounce');
    }
    expect(classifyFailure(new DeliveryError('mailbox full', true, 552, undefined, 'RCPT TO'))).toBe('permanent');
    expect(classifyFailure(new DeliveryError('no such user', true, 550, undefined, 'DATA'))).toBe('permanent');
  });
});
