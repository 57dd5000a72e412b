/**
 * The workflow bundle evaluates re2js once per worker, not once per workflow: the SDK's reusable
 * V8 context gives each workflow a module cache of its own, and only preloaded modules are shared
 * (worker/worker.ts `sharedWorkflowModules`). Replays the SDK's module-cache routing in a plain
 * vm context, without a Temporal server.
 */
import vm from 'node:vm';
import { journeyBundle } from '../../worker/worker';

test('re2js is preloaded into the shared module cache, and no workflow evaluates it again', async () => {
  const { code } = await journeyBundle();
  const shared = new Map<string, unknown>();
  // Until a workflow is being created, modules land in the shared cache (as in the SDK).
  const caches: { perWorkflow?: Map<string, unknown> } = {};
  const context = vm.createContext({});
  Object.defineProperty(context, '__webpack_module_cache__', {
    value: new Proxy(
      {},
      {
        get: (_, id: string) => shared.get(id) ?? caches.perWorkflow?.get(id),
        set: (_, id: string, module: unknown) => {
          (caches.perWorkflow ?? shared).set(id, module);
          return true;
        },
      },
    ),
  });
  new vm.Script(code).runInContext(context);
  vm.runInContext('__TEMPORAL__.preloadModules()', context);
  expect([...shared.keys()].filter((id) => id.includes('re2'))).toEqual(
    expect.arrayContaining(['./core/re2.ts', expect.stringContaining('node_modules/re2js/')]),
  );

  const perWorkflow = new Map<string, unknown>();
  caches.perWorkflow = perWorkflow;
  const workflows = vm.runInContext('__TEMPORAL__.importWorkflows()', context) as Record<string, unknown>;
  expect(typeof workflows.journeyWorkflow).toBe('function');
  expect([...perWorkflow.keys()].filter((id) => id.includes('re2'))).toEqual([]);
  // The workflow code still reaches the engine: conditions were evaluated through the shared one.
  expect([...perWorkflow.keys()]).toContain('./core/conditions.ts');
}, 60_000);
