/** Configuration in tests: what `loadConfig` refuses, as the list of problems it reports. */
import { ConfigError, loadConfig } from '../../worker/config';

/** The problems `loadConfig` lists for `env`; fails the test when it accepts the settings. */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
