/** Temporal servers for tests: the time-skipping test server and the real dev server (CLI). */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { devServerExecutable } from '../../worker/binaries';
import { createTimeSkippingEnv } from '../../worker/test-server';

/** Starts Temporal's time-skipping test server (Java). */
export function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  return createTimeSkippingEnv();
}

/** Starts a real `temporal server start-dev`, optionally persisting to a SQLite file. */
export function devServerEnv(dbFilename?: string): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: { executable: devServerExecutable(), dbFilename, ui: false, log: { format: 'pretty', level: 'error' } },
  });
}
