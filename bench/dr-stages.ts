/**
 * What each stage of a backup's and a restore's own work costs this process, measured on the
 * tenant's COPY text in memory (the bare backup's files, read first), so that no Postgres or disk
 * time is in it: counting rows, SHA-256, tar, sealing (AES-256-GCM) and opening, one after the
 * other over the same bytes in the chunk sizes the real streams carry, and the whole archive
 * writer (activities/backups/archive.ts) with nothing behind it. Then the disk's part: the sealed
 * bytes written to a file, and its fsync.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { BACKUP_CHUNK_BYTES, writeBackupArchive } from '../activities/backups/archive.js';
import { openStream, sealStream } from '../activities/keys/index.js';
import { BACKUP_FORMAT } from '../domain/index.js';

/** What a COPY TO stream hands over at a time, about (one socket read). */
const COPY_CHUNK = 65_536;

/** One stage: how long it took over `bytes`. */
export interface StageTiming {
  stage: string;
  ms: number;
  bytes: number;
}

const chunksOf = (data: Buffer, size = COPY_CHUNK) => {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
  return out;
};
const sizeOf = (buffers: Buffer[]) => buffers.reduce((n, b) => n + b.length, 0);

async function timed(work: () => Promise<unknown> | unknown): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** Collects a stream's output. */
function collector(into: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      into.push(chunk);
      done();
    },
  });
}

/** Reads a stream to its end, keeping nothing. */
const sink = () =>
  new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });

/**
 * Times each stage over the tables' COPY text (`files`: table → its bare backup file), in a
 * backup's order, then a restore's; writes and removes one scratch file in `folder`.
 */
export async function measureStages(
  files: { table: string; file: string }[],
  folder: string,
): Promise<{ backup: StageTiming[]; restore: StageTiming[] }> {
  const tables = files.map(({ table, file }) => ({ table, chunks: chunksOf(readFileSync(file)) }));
  const all = tables.flatMap((t) => t.chunks);
  const textBytes = sizeOf(all);
  const key = randomBytes(32);
  const seal = { tenantId: 'bench-stages', keyId: 'key_bench', key };

  const countMs = await timed(() => {
    let rows = 0;
    for (const data of all)
      for (let at = data.indexOf(0x0a); at >= 0; at = data.indexOf(0x0a, at + 1)) rows++;
    return rows;
  });
  const hashMs = await timed(() => {
    for (const t of tables) {
      const hash = createHash('sha256');
      for (const data of t.chunks) hash.update(data);
      hash.digest();
    }
  });

  // The tar as the archive writer makes it: 8 MiB entries, each copied together first.
  const tarred: Buffer[] = [];
  const tarMs = await timed(async () => {
    const pack = tar.pack();
    const drained = pipeline(pack, collector(tarred));
    const add = (name: string, data: Buffer) =>
      new Promise<void>((resolve, reject) =>
        pack.entry({ name, size: data.length, mode: 0o600 }, data, (err) => (err ? reject(err) : resolve())),
      );
    for (const t of tables) {
      let [parts, pending, n] = [[] as Buffer[], 0, 0];
      for (const data of t.chunks) {
        parts.push(data);
        pending += data.length;
        if (pending >= BACKUP_CHUNK_BYTES) {
          await add(`tables/${t.table}/${++n}.copy`, Buffer.concat(parts, pending));
          [parts, pending] = [[], 0];
        }
      }
      if (pending > 0 || n === 0) await add(`tables/${t.table}/${++n}.copy`, Buffer.concat(parts, pending));
    }
    pack.finalize();
    await drained;
  });
  const sealed: Buffer[] = [];
  const sealMs = await timed(() => pipeline(Readable.from(tarred), sealStream(seal), collector(sealed)));
  const sealedBytes = sizeOf(sealed);
  const fileHashMs = await timed(() => {
    const hash = createHash('sha256');
    for (const data of sealed) hash.update(data);
    hash.digest();
  });
  const wholeMs = await timed(() =>
    writeBackupArchive({
      seal,
      mtime: new Date(),
      store: (stream) => pipeline(stream, sink()),
      produce: async (writeTable) => {
        for (const t of tables) await writeTable(t.table, Readable.from(t.chunks));
        return {
          format: BACKUP_FORMAT,
          application: 'bench',
          schemaVersion: 'bench',
          tenantId: seal.tenantId,
          backupId: 'backup_bench',
          takenAt: new Date().toISOString(),
          region: 'bench',
          deploymentModel: 'pool',
          tables: [],
        };
      },
    }),
  );

  const file = join(folder, `stages-${randomBytes(4).toString('hex')}.sealed`);
  let writeMs = 0;
  let fsyncMs = 0;
  let readMs = 0;
  try {
    const handle = await open(file, 'wx', 0o600);
    try {
      writeMs = await timed(async () => {
        for (const data of sealed) await handle.write(data);
      });
      fsyncMs = await timed(() => handle.sync());
    } finally {
      await handle.close();
    }
    readMs = await timed(async () => {
      const reading = await open(file, 'r');
      await pipeline(reading.createReadStream(), sink());
    });
  } finally {
    await rm(file, { force: true });
  }
  const opened: Buffer[] = [];
  const openMs = await timed(() =>
    pipeline(
      Readable.from(chunksOf(Buffer.concat(sealed))),
      openStream(async () => key),
      collector(opened),
    ),
  );
  const extractMs = await timed(async () => {
    const extract = tar.extract();
    const feeding = pipeline(Readable.from(opened), extract);
    for await (const entry of extract) for await (const _ of entry as AsyncIterable<Buffer>) void _;
    await feeding;
  });

  return {
    backup: [
      { stage: 'count rows (a row a line)', ms: countMs, bytes: textBytes },
      { stage: "SHA-256 of each table's COPY text", ms: hashMs, bytes: textBytes },
      { stage: 'tar (8 MiB entries, each copied together)', ms: tarMs, bytes: textBytes },
      { stage: 'seal (AES-256-GCM, 64 KiB chunks)', ms: sealMs, bytes: sizeOf(tarred) },
      { stage: 'SHA-256 of the sealed file', ms: fileHashMs, bytes: sealedBytes },
      {
        stage: 'all of the above together (the archive writer, nothing behind it)',
        ms: wholeMs,
        bytes: textBytes,
      },
      { stage: 'write the sealed file (page cache)', ms: writeMs, bytes: sealedBytes },
      { stage: 'fsync it', ms: fsyncMs, bytes: sealedBytes },
    ],
    restore: [
      { stage: 'read the sealed file (page cache)', ms: readMs, bytes: sealedBytes },
      { stage: 'open (AES-256-GCM)', ms: openMs, bytes: sealedBytes },
      { stage: 'untar', ms: extractMs, bytes: sizeOf(opened) },
      { stage: 'count rows and SHA-256 (as for a backup)', ms: countMs + hashMs, bytes: textBytes },
      { stage: 'SHA-256 of the sealed file (as for a backup)', ms: fileHashMs, bytes: sealedBytes },
    ],
  };
}
