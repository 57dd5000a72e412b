/**
 * The RE2 engine (linear-time regular expressions) for `matches`. Everything imports it from here,
 * not from 're2js' directly, so that the worker can evaluate it once and share it between
 * workflows (worker/worker.ts `sharedWorkflowModules`): a module with a side effect of loading
 * re2js, which webpack would drop from a bare `require('re2js')` as the package says it has none.
 */
export { RE2JS } from 're2js';
