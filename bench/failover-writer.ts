/**
 * Starts and asks the failover benchmark's writer process (bench/failover-writer-main.ts): it
 * writes apart from the benchmark's process, so that the API, the lifecycle worker and the bare
 * promotions there do not delay its inserts, nor its inserts them.
 */
import { fileURLToPath } from 'node:url';
import type {
  FailoverWriterCommand,
  FailoverWriterConfig,
  FailoverWriterMessage,
  TenantWrites,
} from './failover-writer-main.js';
import { WriterProcess } from './writer-process.js';

const ENTRY = fileURLToPath(new URL('./failover-writer-main.ts', import.meta.url));

/** The `action` of every row the writer writes. */
export const FAILOVER_WRITER_ACTION = 'bench-failover-write';

export class FailoverWriter {
  private constructor(
    private readonly process: WriterProcess<FailoverWriterCommand, FailoverWriterMessage>,
  ) {}

  /** Resolves once every tenant's connection is open and its inserts have begun. */
  static async start(config: Omit<FailoverWriterConfig, 'action'>): Promise<FailoverWriter> {
    return new FailoverWriter(
      await WriterProcess.start(ENTRY, 'BENCH_FAILOVER_WRITER_CONFIG', {
        ...config,
        action: FAILOVER_WRITER_ACTION,
      }),
    );
  }

  /** Every tenant's writes so far. */
  async report(): Promise<TenantWrites[]> {
    return (await this.process.report()).tenants;
  }

  stop(): Promise<void> {
    return this.process.stop();
  }
}
