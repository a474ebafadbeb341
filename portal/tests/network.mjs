// A real MedLedger network for the browser tests: a development chain's validator (Alice, who
// authors and finalizes alone; node key 1) and the regulator's observer (node key 6), both on
// 127.0.0.1 with free ports and temporary base paths. `stop()` kills both; so does the exit
// of this process.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, homedir } from 'node:os';
import { join, dirname } from 'node:path';

export function nodeBinary() {
  if (process.env.MEDLEDGER_NODE) return process.env.MEDLEDGER_NODE;
  const target = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache/medledger/target');
  for (const profile of ['debug', 'release']) {
    const path = join(target, profile, 'medledger-node');
    if (existsSync(path)) return path;
  }
  throw new Error(`no medledger-node in ${target}/{debug,release}: build it or set MEDLEDGER_NODE`);
}

/** The `medledger` CLI (its `fhir ingest` fills a hospital's store): MEDLEDGER_CLI, or the
 * build next to the node's. */
export function cliBinary() {
  if (process.env.MEDLEDGER_CLI) return process.env.MEDLEDGER_CLI;
  const path = join(dirname(nodeBinary()), 'medledger');
  if (existsSync(path)) return path;
  throw new Error(`no medledger CLI next to the node (${path}): build it or set MEDLEDGER_CLI`);
}

// A loopback port outside the ephemeral range (as tests/harness does), bindable when chosen.
const taken = new Set();
export async function freePort() {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (taken.has(port)) continue;
    const free = await new Promise((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) { taken.add(port); return port; }
  }
  throw new Error('no free loopback port');
}

async function rpc(port, method, params = []) {
  const response = await fetch(`http://127.0.0.1:${port}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = await response.json();
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

export async function waitFor(what, timeoutMs, probe) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

export async function startNetwork() {
  const binary = nodeBinary();
  const dir = mkdtempSync(join(tmpdir(), 'medledger-portal-'));
  const nodes = [];
  const start = async (name, args) => {
    const rpcPort = await freePort();
    const p2pPort = await freePort();
    const deliveryPort = await freePort();
    const log = join(dir, `${name}.log`);
    const child = spawn(binary, [...args,
      '--base-path', join(dir, name), '--rpc-port', String(rpcPort),
      '--listen-addr', `/ip4/127.0.0.1/tcp/${p2pPort}`,
      '--delivery-listen', `127.0.0.1:${deliveryPort}`,
      '--no-prometheus', '--no-telemetry', '--no-mdns'],
    { stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')] });
    const node = { name, child, rpcPort, p2pPort, log, ws: `ws://127.0.0.1:${rpcPort}`, delivery: `http://127.0.0.1:${deliveryPort}`, basePath: join(dir, name) };
    nodes.push(node);
    await waitFor(`${name}'s RPC`, 90_000, async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited:\n${readFileSync(log, 'utf8').slice(-2000)}`);
      return rpc(rpcPort, 'system_health');
    });
    return node;
  };
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    for (const node of nodes) if (node.child.exitCode === null) node.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => { stop(); process.exit(128 + (signal === 'SIGINT' ? 2 : 15)); });
  }
  try {
    // One patient's records cannot be 5-anonymous: Alice General delivers at k = 1 (as the
    // CLI's chain test does).
    const alice = await start('alice', ['--dev', '--node-key', '1'.padStart(64, '0'), '--delivery-k', '1']);
    const peerId = await rpc(alice.rpcPort, 'system_localPeerId');
    const observer = await start('regulator', ['--chain', 'dev', '--observer',
      '--node-key', '6'.padStart(64, '0'),
      '--bootnodes', `/ip4/127.0.0.1/tcp/${alice.p2pPort}/p2p/${peerId}`]);
    await waitFor('the observer to follow finality', 120_000, async () => {
      const hash = await rpc(observer.rpcPort, 'chain_getFinalizedHead');
      const header = await rpc(observer.rpcPort, 'chain_getHeader', [hash]);
      return parseInt(header.number, 16) >= 2;
    });
    return { alice, observer, dir, stop, logs: () => nodes.map((n) => `--- ${n.name}\n${readFileSync(n.log, 'utf8').slice(-4000)}`).join('\n') };
  } catch (e) {
    const logs = nodes.map((n) => `--- ${n.name}\n${existsSync(n.log) ? readFileSync(n.log, 'utf8').slice(-3000) : ''}`).join('\n');
    stop();
    throw new Error(`${e.message}\n${logs}`);
  }
}
