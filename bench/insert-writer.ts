/**
 * Starts and steers the concurrent writer process (bench/insert-writer-main.ts): it runs apart from
 * the benchmark's process so that the API, the lifecycle worker and the baseline's own work in this
 * process do not delay its inserts; it shares the machine's CPUs with everything, as an application
 * next to its database would.
 */
import { fileURLToPath } from 'node:url';
import type { PhaseSamples, WriterCommand, WriterConfig, WriterMessage } from './insert-writer-main.js';
import { WriterProcess } from './writer-process.js';

const ENTRY = fileURLToPath(new URL('./insert-writer-main.ts', import.meta.url));

export class InsertWriter {
  private constructor(private readonly process: WriterProcess<WriterCommand, WriterMessage>) {}

  static async start(config: WriterConfig): Promise<InsertWriter> {
    return new InsertWriter(await WriterProcess.start(ENTRY, 'BENCH_WRITER_CONFIG', config));
  }

  get pid(): number {
    return this.process.pid;
  }

  /** Inserts from now on count towards `phase`; null pauses the writer. */
  phase(phase: string | null): void {
    this.process.send({ type: 'phase', phase });
  }

  /** Every phase's samples so far. */
  async report(): Promise<Record<string, PhaseSamples>> {
    return (await this.process.report()).phases;
  }

  stop(): Promise<void> {
    return this.process.stop();
  }
}
