/**
 * The process's structured log: JSON lines (pino) on stderr, so stdout stays for command output
 * (the `start` banner, `--json`). Every field, message and child binding passes through
 * observability/redact.ts on the way out.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { redact, redactText } from './redact';

export type { Logger } from 'pino';

/** The levels LOG_LEVEL accepts, most verbose first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  /** Which process wrote the line (`worker`, `start`), as the `service` field. */
  service: string;
  level: LogLevel | 'silent';
  /** Where lines go; stderr when absent. Tests pass a stream they read. */
  destination?: DestinationStream;
}

/** A logger writing redacted JSON lines with `time`, `level` (as a word), `service` and `pid`. */
export function createLogger(options: LoggerOptions): Logger {
  const logger = pino(
    {
      level: options.level,
      base: { service: options.service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Errors are already plain fields by the time serializers run (formatters.log comes first).
      serializers: { err: (value: unknown) => value },
      formatters: {
        level: (label) => ({ level: label }),
        log: (fields) => redact(fields) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          method.apply(this, redactedArgs(args));
        },
      },
    },
    // Synchronous, so the last lines before an exit are not lost.
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
  // pino's bindings formatter sees only the root's bindings, not a child's (fastify's request
  // loggers, anyone's child({ … })); children inherit this method, so theirs pass here too.
  const child = logger.child;
  logger.child = function redactedChild(this: Logger, bindings, childOptions) {
    return child.call(this, redact(bindings) as typeof bindings, childOptions);
  } as Logger['child'];
  return logger;
}

/** The message and format arguments redacted; a lone error also gets its message redacted. */
function redactedArgs(args: unknown[]): Parameters<Logger['info']> {
  const out = args.map((arg) => (typeof arg === 'string' ? redactText(arg) : arg));
  // pino would take the message of a lone error verbatim.
  if (out.length === 1 && out[0] instanceof Error) out.push(redactText(out[0].message));
  return out as Parameters<Logger['info']>;
}

let installed: Logger | undefined;

/** Makes this the process's logger (once, at start: `worker` or `start`) and returns it. */
export function installLogger(options: LoggerOptions): Logger {
  installed = createLogger(options);
  return installed;
}

/** The process's logger; before `installLogger`, one at `info` on stderr. */
export function log(): Logger {
  installed ??= createLogger({ service: 'unbroken', level: 'info' });
  return installed;
}
