// Real Temporal and MinIO servers on free ports (never the default dev ports), started and stopped per test.
// Run: node --import tsx --test test/infra.test.ts
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { Client as MinioClient } from 'minio';
import { ensureBinaries, freePort, launch, PortInUseError, startMinio, startMinioCluster, startTemporal, type MinioServer } from '../infra/servers';
import { DEV_CREDENTIALS } from '../config';
import { devDown, devStatus, devUp } from '../infra/dev';
import { assertPortFree, isAlive, onFreshPorts, stopPid } from '../infra/process';
import { tempDir } from './helpers/tmp';

let tmp: string;
before(
  async () => {
    tmp = tempDir('infra');
    await ensureBinaries(); // a first install builds MinIO from source: minutes, hence the long timeout
  },
  { timeout: 20 * 60_000 },
);
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function s3(m: { port: number; accessKey: string; secretKey: string }): MinioClient {
  return new MinioClient({ endPoint: '127.0.0.1', port: m.port, useSSL: false, accessKey: m.accessKey, secretKey: m.secretKey });
}

async function putGet(m: MinioServer | { port: number; accessKey: string; secretKey: string }, bucket: string) {
  const client = s3(m);
  if (!(await client.bucketExists(bucket))) await client.makeBucket(bucket);
  await client.putObject(bucket, 'hello.txt', Buffer.from('hello dapt'));
  const chunks: Buffer[] = [];
  for await (const c of await client.getObject(bucket, 'hello.txt')) chunks.push(c as Buffer);
  assert.equal(Buffer.concat(chunks).toString(), 'hello dapt');
}

/** `fn()`, retried while it fails with an error matching `transient`, for at most `ms`; the last error otherwise. */
async function within<T>(ms: number, fn: () => Promise<T>, transient: RegExp): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!transient.test(String(e)) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function readObject(m: { port: number; accessKey: string; secretKey: string }, bucket: string, key: string) {
  const chunks: Buffer[] = [];
  for await (const c of await s3(m).getObject(bucket, key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

test('Temporal: starts on free ports, answers with the search attributes, stops', { timeout: 120_000 }, async () => {
  const t = await startTemporal({ logFile: path.join(tmp, 'temporal.log'), namespace: 'dapt-test' });
  try {
    assert.match(t.address, /^127\.0\.0\.1:\d+$/);
    const connection = await Connection.connect({ address: t.address });
    try {
      const info = await connection.workflowService.getSystemInfo({});
      assert.ok(info.serverVersion, 'server reports a version');
      const attrs = await connection.operatorService.listSearchAttributes({ namespace: t.namespace });
      assert.equal(attrs.customAttributes?.DaptPipeline, 2 /* INDEXED_VALUE_TYPE_KEYWORD */);
      assert.equal(attrs.customAttributes?.DaptRun, 2);
    } finally {
      await connection.close();
    }
    assert.ok(t.uiUrl);
    assert.equal((await fetch(t.uiUrl)).status, 200, 'web UI answers');

    // A busy port is reported with the port and the process holding it.
    await assert.rejects(startTemporal({ port: Number(t.address.split(':')[1]), uiPort: false, logFile: path.join(tmp, 'busy.log') }), (e) => {
      assert.ok(e instanceof PortInUseError);
      assert.match(e.message, new RegExp(`port ${t.address.split(':')[1]} .*temporal \\(pid ${t.pid}\\)`));
      return true;
    });
  } finally {
    await t.stop();
  }
  assert.equal(isAlive(t.pid), false);
});

test('MinIO: starts, stores objects, survives a restart, refuses a busy port, stops', { timeout: 120_000 }, async () => {
  const m = await startMinio({ dataDir: path.join(tmp, 'minio'), logFile: path.join(tmp, 'minio.log') });
  try {
    assert.equal(m.endpoint, `http://127.0.0.1:${m.port}`);
    await putGet(m, 'artifacts');

    const busyLog = path.join(tmp, 'minio-busy.log');
    await assert.rejects(startMinio({ port: m.port, dataDir: path.join(tmp, 'minio2'), logFile: busyLog }), (e) => {
      assert.ok(e instanceof PortInUseError);
      assert.equal(e.port, m.port);
      assert.match(e.message, new RegExp(`port ${m.port} .*minio \\(pid ${m.pid}\\)`));
      return true;
    });

    const oldPid = m.pid;
    await m.restart!();
    assert.notEqual(m.pid, oldPid);
    assert.equal(isAlive(oldPid), false);
    assert.equal(await readObject(m, 'artifacts', 'hello.txt'), 'hello dapt', 'data survives a restart');
  } finally {
    await m.stop();
  }
  assert.equal(isAlive(m.pid), false);
});

test('MinIO: erasure coding over four drives', { timeout: 120_000 }, async () => {
  const drives = [1, 2, 3, 4].map((i) => path.join(tmp, `ec${i}`));
  const m = await startMinio({ dataDir: drives, logFile: path.join(tmp, 'minio-ec.log') });
  try {
    await putGet(m, 'erasure');
    for (const d of drives) assert.ok(fs.existsSync(path.join(d, '.minio.sys')), `${d} is formatted`);
  } finally {
    await m.stop();
  }
});

test('MinIO cluster: four nodes, one erasure set; with a node killed every other node still writes and reads', { timeout: 120_000 }, async () => {
  const cluster = await startMinioCluster({ nodes: 4, dataDir: path.join(tmp, 'cluster'), logDir: path.join(tmp, 'cluster-logs') });
  try {
    assert.equal(new Set(cluster.nodes.map((n) => n.port)).size, 4);
    await putGet(cluster.nodes[0], 'cluster');
    assert.equal(await readObject(cluster.nodes[3], 'cluster', 'hello.txt'), 'hello dapt', 'an object written through node 0 reads through node 3');
    process.kill(cluster.nodes[3].pid, 'SIGKILL');
    for (let i = 0; isAlive(cluster.nodes[3].pid) && i < 50; i++) await new Promise((r) => setTimeout(r, 100));
    // 4 drives, EC:2: reads need 2 drives, writes 3, so the 3 survivors keep both. Right after the kill a
    // survivor may answer 503 until its health check marks the peer offline (seen on a loaded CI machine): a
    // client retries that, so each survivor gets 15 s to serve the write, then must have served it.
    for (const node of cluster.nodes.slice(0, 3)) {
      await within(15_000, () => s3(node).putObject('cluster', `via-${node.port}.txt`, Buffer.from(String(node.port))), /\b503\b/);
      assert.equal(await readObject(node, 'cluster', `via-${node.port}.txt`), String(node.port));
      assert.equal(await readObject(node, 'cluster', 'hello.txt'), 'hello dapt');
    }
  } finally {
    await cluster.stop();
  }
  for (const node of cluster.nodes) assert.equal(isAlive(node.pid), false);
});

test('dev stack: up is idempotent, state survives down/up, down stops only what up started', { timeout: 180_000 }, async () => {
  const stateDir = path.join(tmp, 'state');
  const envKeys = ['DAPT_DEV_TEMPORAL_PORT', 'DAPT_DEV_UI_PORT', 'DAPT_DEV_MINIO_PORT', 'DAPT_DEV_CONSOLE_PORT'];
  const saved = envKeys.map((k) => process.env[k]);
  for (const k of envKeys) process.env[k] = String(await freePort());
  try {
    const before = await devStatus({ stateDir });
    assert.equal(before.temporal.running, false);
    assert.equal(before.minio.running, false);

    const up = await devUp({ stateDir });
    assert.equal(up.stateDir, stateDir);
    assert.equal(up.temporal.running, true);
    assert.equal(up.minio.running, true);
    assert.equal(up.temporal.address, `127.0.0.1:${process.env.DAPT_DEV_TEMPORAL_PORT}`);
    assert.equal(up.minio.endpoint, `http://127.0.0.1:${process.env.DAPT_DEV_MINIO_PORT}`);
    for (const f of ['temporal.db', 'minio-data', 'logs/temporal.log', 'logs/minio.log', 'pids/temporal.pid', 'pids/minio.pid']) {
      assert.ok(fs.existsSync(path.join(stateDir, f)), `${f} exists`);
    }
    assert.equal((await fetch(up.minio.consoleUrl)).ok, true, 'console answers');

    const again = await devUp({ stateDir });
    assert.equal(again.temporal.pid, up.temporal.pid, 'second up keeps the running Temporal');
    assert.equal(again.minio.pid, up.minio.pid, 'second up keeps the running MinIO');

    // Leave state in both servers, restart the stack, and find it again.
    const minioAddr = { port: Number(process.env.DAPT_DEV_MINIO_PORT), ...DEV_CREDENTIALS };
    await putGet(minioAddr, 'persist');
    let connection = await Connection.connect({ address: up.temporal.address });
    await new TemporalClient({ connection }).workflow.start('noSuchWorkflow', { taskQueue: 'nobody', workflowId: 'persist-check' });
    await connection.close();

    const down = await devDown({ stateDir });
    assert.deepEqual(down.stopped.sort(), ['minio', 'temporal']);
    assert.equal(isAlive(up.temporal.pid!), false);
    assert.equal(isAlive(up.minio.pid!), false);
    const stopped = await devStatus({ stateDir });
    assert.equal(stopped.temporal.running, false);
    assert.equal(stopped.minio.running, false);

    const up2 = await devUp({ stateDir });
    connection = await Connection.connect({ address: up2.temporal.address });
    try {
      const desc = await new TemporalClient({ connection }).workflow.getHandle('persist-check').describe();
      assert.equal(desc.status.name, 'RUNNING', 'workflow survives a Temporal restart (temporal.db)');
    } finally {
      await connection.close();
    }
    assert.equal(await readObject(minioAddr, 'persist', 'hello.txt'), 'hello dapt', 'objects survive a MinIO restart');
    await devDown({ stateDir });

    // A pid file whose pid now belongs to someone else (here: this test process) must not get it killed.
    fs.writeFileSync(
      path.join(stateDir, 'pids', 'temporal.pid'),
      JSON.stringify({ pid: process.pid, startTime: '1', port: 1, extraPort: 2, startedAt: new Date().toISOString() }),
    );
    assert.equal((await devStatus({ stateDir })).temporal.running, false);
    assert.deepEqual((await devDown({ stateDir })).stopped, []);
    assert.equal(fs.existsSync(path.join(stateDir, 'pids', 'temporal.pid')), false, 'stale pid file removed');
  } finally {
    await devDown({ stateDir }).catch(() => {});
    envKeys.forEach((k, i) => (saved[i] === undefined ? delete process.env[k] : (process.env[k] = saved[i])));
  }
});

test('a port we picked that was taken before the bind is picked again; a port the caller named is not', async () => {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const taken = (holder.address() as net.AddressInfo).port;
  try {
    const tried: number[] = [];
    // The first pick is the held port (as when Temporal's dev server grabbed it); the next pick is free.
    const picks = [taken];
    const port = await onFreshPorts(true, async () => {
      const p = picks.shift() ?? (await freePort());
      tried.push(p);
      await assertPortFree(p, 'MinIO');
      return p;
    });
    assert.deepEqual(tried, [taken, port]);
    assert.notEqual(port, taken);
    await assert.rejects(onFreshPorts(false, () => assertPortFree(taken, 'MinIO')), PortInUseError);
  } finally {
    holder.close();
  }
});

/**
 * A server process that fails as Temporal's dev server does when a port it picked itself (history, matching,
 * worker) is taken before it binds it: the bind error, then a Go panic's stack trace longer than any tail. It
 * fails that way `failures` times (counted in a file), then listens on `port`.
 */
function flakyServer(dir: string, port: number, failures: number, busyPort?: number): { bin: string; args: string[] } {
  const cause = busyPort === undefined ? '' : `listen tcp 127.0.0.1:${busyPort}: bind: address already in use`;
  const script = `
    const fs = require('node:fs'), net = require('node:net');
    const count = ${JSON.stringify(path.join(dir, 'starts'))};
    const n = fs.existsSync(count) ? Number(fs.readFileSync(count, 'utf8')) : 0;
    fs.writeFileSync(count, String(n + 1));
    if (n < ${failures}) {
      if (${JSON.stringify(cause)}) console.log('level=ERROR msg="Failed to start gRPC listener" error=' + ${JSON.stringify(cause)});
      if (${failures} > 99) { console.log('Error: unknown flag: --bogus'); process.exit(1); }
      console.log('panic: runtime error: invalid memory address or nil pointer dereference');
      for (let i = 0; i < 60; i++) console.log('\\tgo.temporal.io/server/temporal.frame' + i + '(...)');
      process.exit(2);
    }
    net.createServer().listen(${port}, '127.0.0.1');`;
  return { bin: process.execPath, args: ['-e', script] };
}

const listening = (port: number) =>
  new Promise<void>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });

test('a start that failed on a port the server picked itself, or panicked, is made again; one of our ports is PortInUseError', async () => {
  const port = await freePort();
  const serverPicked = await freePort();
  const dir = fs.mkdtempSync(path.join(tmp, 'flaky-'));
  const logFile = path.join(dir, 'server.log');
  const flaky = (failures: number, busyPort?: number) =>
    launch({ what: 'Flaky', ...flakyServer(dir, port, failures, busyPort), logFile, ports: [port], ready: () => listening(port), timeoutMs: 10_000 });

  const child = await flaky(2, serverPicked);
  try {
    assert.equal(fs.readFileSync(path.join(dir, 'starts'), 'utf8'), '3', 'two failed starts, then one that listens');
    assert.equal(fs.readFileSync(logFile, 'utf8').match(/^level=ERROR .*address already in use/gm)?.length, 2);
  } finally {
    await stopPid(child.pid!);
  }

  // Three starts that all fail: the error names the bind failure, not only the stack trace's tail.
  fs.rmSync(path.join(dir, 'starts'));
  await assert.rejects(flaky(5, serverPicked), (e: Error) => {
    assert.match(e.message, /Flaky exited during startup \(exit code 2\): a port it picked itself was taken/);
    assert.match(e.message, new RegExp(`listen tcp 127\\.0\\.0\\.1:${serverPicked}: bind: address already in use`));
    return true;
  });
  assert.equal(fs.readFileSync(path.join(dir, 'starts'), 'utf8'), '3', 'given up after three starts');

  // A panic with no cause logged is also started again; an exit that is not a panic is final at once.
  fs.rmSync(path.join(dir, 'starts'));
  await stopPid((await flaky(1)).pid!);
  assert.equal(fs.readFileSync(path.join(dir, 'starts'), 'utf8'), '2');
  fs.rmSync(path.join(dir, 'starts'));
  await assert.rejects(flaky(100), /Flaky exited during startup \(exit code 1\); last lines of .*\n[^]*unknown flag: --bogus/);
  assert.equal(fs.readFileSync(path.join(dir, 'starts'), 'utf8'), '1');

  // Our own port taken between our check and the server's bind: that is the caller's to handle, at once.
  fs.rmSync(path.join(dir, 'starts'));
  const holder = net.createServer();
  let check = 0;
  await assert.rejects(
    launch({
      what: 'Flaky',
      ...flakyServer(dir, port, 5, port),
      logFile,
      // Free at the up-front check; the holder takes it before the (scripted) bind.
      ports: [port],
      ready: async () => {
        if (check++ === 0) await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
        throw new Error('not yet');
      },
      timeoutMs: 10_000,
    }),
    PortInUseError,
  );
  holder.close();
});
