// Worker and core logs are for operators; in tests only errors are worth printing.
import { installRuntime } from '../../worker/logging';

installRuntime('ERROR');
