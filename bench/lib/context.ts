/** What every benchmark receives from the runner. */
import type { Client } from '@temporalio/client';
import type { Bundles } from './workers';
import type { SmtpSink, StoreTarget, TemporalTarget } from './infra';
import type { Row } from './report';

export interface Sizes {
  /** Benchmark 1: customers per variant, split over `engineRounds` alternating rounds. */
  engineCustomers: number;
  engineRounds: number;
  /** Benchmark 2: seconds per autocannon round, and rounds per variant. */
  ingestSeconds: number;
  /**
   * Seconds of load in a journey-events round: its events are routed at Temporal's pace
   * (~230/s here) before the next round, so a round as long as the others would take minutes.
   */
  ingestJourneySeconds: number;
  ingestRounds: number;
  ingestConnections: number;
  batchSize: number;
  /** Benchmark 3: probes per variant and load level. */
  ttfmProbes: number;
  /** Benchmark 4: waiting customers per variant (engine and baseline each). */
  waitingCustomers: number;
  /** Benchmark 5: generated journeys, and rounds per variant. */
  compileJourneys: number;
  compileRounds: number;
  /** Benchmark 6: customers and step records in the console's store, and timed requests per page. */
  consoleCustomers: number;
  consoleStepRecords: number;
  consoleRequests: number;
  /** Benchmark 7: journey tests run by `unbroken test`'s runner, and how many of them the one-server-each baseline runs. */
  journeyTests: number;
  journeyTestsBaseline: number;
  /** Benchmark 8: customers in the swept store (ten events each). */
  sweepProfiles: number;
  /** Benchmark 9: customers a broadcast enters (and hand-written workflows the client starts). */
  broadcastCustomers: number;
}

export interface BenchContext {
  quick: boolean;
  sizes: Sizes;
  /** Unique per run: task queues and customer ids carry it. */
  runId: string;
  tmp: string;
  definitionsDir: string;
  temporal: TemporalTarget;
  client: Client;
  smtp: SmtpSink;
  bundles: Bundles;
  /** The store benchmarks 1, 3 and 4 use (PostgreSQL when DATABASE_URL names one). */
  store: () => Promise<StoreTarget>;
  /** Every store ingestion runs against: SQLite, plus PostgreSQL when configured. */
  ingestStores: () => Promise<StoreTarget[]>;
  /** Where worker children write --cpu-prof profiles (only with --profile). */
  profileDir?: string;
  rows: Row[];
  results: Record<string, unknown>;
}
