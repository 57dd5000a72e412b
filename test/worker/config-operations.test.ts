/** Operations settings: the Temporal address's form and the worker's concurrency limits. */
import { loadConfig } from '../../worker/config';
import { configProblems } from '../support/config';

describe('TEMPORAL_ADDRESS', () => {
  it.each(['temporal.internal:7233', '10.0.0.5:7233', '[::1]:7233', 'my-ns.a1b2c.tmprl.cloud:7233'])('accepts %s', (address) => {
    expect(loadConfig({ TEMPORAL_ADDRESS: address }).temporal.address).toBe(address);
  });

  it.each(['http://temporal:7233', 'temporal', 'temporal:0', 'temporal:70000', 'temporal:7233/ns', 'user:pw@temporal:7233'])(
    'refuses %s as not host:port with a port in range, listed with the other problems',
    (address) => {
      const problems = configProblems({ TEMPORAL_ADDRESS: address, PORT: 'x' });
      expect(problems).toEqual([
        expect.stringMatching(/^TEMPORAL_ADDRESS: must be host:port with a port from 1 to 65535, e\.g\. temporal\.internal:7233/),
        expect.stringMatching(/^PORT: /),
      ]);
      expect(problems.join('\n')).not.toContain(' at ');
    },
  );

  it('never echoes a password put into it', () => {
    expect(configProblems({ TEMPORAL_ADDRESS: 'grpc://app:hunter2@temporal:7233' }).join('\n')).not.toContain('hunter2');
  });
});

describe('worker limits', () => {
  it('are the SDK defaults (absent) when unset', () => {
    expect(loadConfig({}).workerLimits).toEqual({ maxConcurrentWorkflowTasks: undefined, maxConcurrentActivities: undefined, maxCachedWorkflows: 250 });
  });

  it('are read as whole numbers', () => {
    const config = loadConfig({ UNBROKEN_WORKER_MAX_WORKFLOW_TASKS: '20', UNBROKEN_WORKER_MAX_ACTIVITIES: '8', UNBROKEN_WORKER_MAX_CACHED_WORKFLOWS: '500' });
    expect(config.workerLimits).toEqual({ maxConcurrentWorkflowTasks: 20, maxConcurrentActivities: 8, maxCachedWorkflows: 500 });
    expect(loadConfig({ UNBROKEN_WORKER_MAX_CACHED_WORKFLOWS: '0' }).workerLimits.maxCachedWorkflows).toBe(0);
  });

  it('refuse values the SDK would silently change, each by name', () => {
    expect(configProblems({ UNBROKEN_WORKER_MAX_WORKFLOW_TASKS: '1', UNBROKEN_WORKER_MAX_ACTIVITIES: 'many', UNBROKEN_WORKER_MAX_CACHED_WORKFLOWS: '1' })).toEqual([
      expect.stringMatching(/^UNBROKEN_WORKER_MAX_WORKFLOW_TASKS: /),
      expect.stringMatching(/^UNBROKEN_WORKER_MAX_ACTIVITIES: /),
      expect.stringMatching(/^UNBROKEN_WORKER_MAX_CACHED_WORKFLOWS: must be 0 \(no cache\) or at least 2/),
    ]);
    expect(configProblems({ UNBROKEN_WORKER_MAX_WORKFLOW_TASKS: '50', UNBROKEN_WORKER_MAX_CACHED_WORKFLOWS: '10' })).toEqual([
      expect.stringMatching(/^UNBROKEN_WORKER_MAX_WORKFLOW_TASKS: 50 exceeds UNBROKEN_WORKER_MAX_CACHED_WORKFLOWS \(10\)/),
    ]);
  });
});
