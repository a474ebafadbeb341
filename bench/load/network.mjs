// The 4-hospital network of `--chain local` (validators Alice, Bob, Charlie, Dave), started the
// way scripts/local-network.sh starts it (development node keys 1…4, Alice as bootnode) but on
// free loopback ports and in a temporary directory, for the load benchmark. `stop()` kills every
// node it started; so do the exit of this process, Ctrl-C and SIGTERM.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Free ports and polling with a deadline: the portal test's helpers (node built-ins only, no side
// effects on import).
import { freePort, waitFor } from '../../portal/tests/network.mjs';

export { waitFor };

export const VALIDATORS = ['alice', 'bob', 'charlie', 'dave'];

/** One JSON-RPC call over HTTP (the node serves HTTP and WebSocket on one port). */
export async function rpc(port, method, params = []) {
  const response = await fetch(`http://127.0.0.1:${port}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = await response.json();
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** CPU time (user + system, seconds) and peak RSS (KiB) of a running process, from /proc. */
export function processUsage(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key) => Number((status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm')) ?? [])[1] ?? NaN);
  return { cpuSeconds: ticks / CLOCK_TICKS, vmHwmKiB: kib('VmHWM'), vmRssKiB: kib('VmRSS') };
}
// USER_HZ is 100 on every Linux architecture Node.js runs on.
const CLOCK_TICKS = 100;

/**
 * Starts the four validators with `binary`, each with `extraArgs` (pool flags, …) appended, and
 * resolves once every node has 3 peers and finality has moved past block 1. Time-bounded.
 * `single`: one `--dev` node instead (Alice authors alone), to develop the driver cheaply.
 */
export async function startLocalNetwork({ binary, extraArgs = [], single = false, keepDir = false, log = console.error }) {
  const dir = mkdtempSync(join(tmpdir(), 'medledger-load-'));
  const nodes = [];
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    for (const node of nodes) if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
    if (keepDir) log(`chains kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => { log(`\n${signal}: stopping the nodes`); stop(); process.exit(128 + (signal === 'SIGINT' ? 2 : 15)); });
  }

  const start = async (name, index, bootnode) => {
    const rpcPort = await freePort();
    const p2pPort = await freePort();
    const deliveryPort = await freePort();
    const logFile = join(dir, `${name}.log`);
    // Development node key n+1: its peer id is authorised in the local chain's genesis.
    const chain = single ? ['--dev'] : ['--chain', 'local', `--${name}`];
    const args = [...chain, '--base-path', join(dir, name),
      '--node-key', (index + 1).toString(16).padStart(64, '0'),
      '--listen-addr', `/ip4/127.0.0.1/tcp/${p2pPort}`,
      // RPC on 127.0.0.1 alone (`--rpc-port` also binds [::1]); one WebSocket connection
      // watches every submitted transaction, hence the subscription limit.
      '--experimental-rpc-endpoint', `listen-addr=127.0.0.1:${rpcPort},max-subscriptions-per-connection=100000`,
      '--delivery-listen', `127.0.0.1:${deliveryPort}`,
      '--no-prometheus', '--no-telemetry', '--no-mdns',
      ...(bootnode ? ['--bootnodes', bootnode] : []), ...extraArgs];
    const out = openSync(logFile, 'a');
    const child = spawn(binary, args, { stdio: ['ignore', out, out] });
    const node = { name, child, pid: child.pid, rpcPort, p2pPort, logFile, args, ws: `ws://127.0.0.1:${rpcPort}` };
    nodes.push(node);
    await waitFor(`${name}'s RPC`, 120_000, async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited:\n${tail(logFile)}`);
      return rpc(rpcPort, 'system_health');
    });
    return node;
  };

  try {
    const alice = await start('alice', 0);
    const peerId = await rpc(alice.rpcPort, 'system_localPeerId');
    const bootnode = `/ip4/127.0.0.1/tcp/${alice.p2pPort}/p2p/${peerId}`;
    if (!single) for (let i = 1; i < VALIDATORS.length; i++) await start(VALIDATORS[i], i, bootnode);
    log(`nodes up (${dir}); waiting for peers and finality`);
    await waitFor('every node to see its peers', 120_000, async () => {
      const health = await Promise.all(nodes.map((n) => rpc(n.rpcPort, 'system_health')));
      return health.every((h) => h.peers >= nodes.length - 1);
    });
    await waitFor('finality past block 1', 180_000, async () => {
      const hash = await rpc(alice.rpcPort, 'chain_getFinalizedHead');
      const header = await rpc(alice.rpcPort, 'chain_getHeader', [hash]);
      return parseInt(header.number, 16) >= 2;
    });
    // Kills the nodes and waits until each has exited (reaped: no zombie left behind).
    const shutdown = async () => {
      const exited = nodes.map((n) => (n.child.exitCode !== null || n.child.signalCode !== null)
        ? null : new Promise((resolve) => n.child.once('exit', resolve)));
      stop();
      await Promise.race([Promise.all(exited), new Promise((resolve) => setTimeout(resolve, 10_000))]);
    };
    return { nodes, dir, stop, shutdown, logs: () => nodes.map((n) => `--- ${n.name}\n${tail(n.logFile)}`).join('\n') };
  } catch (e) {
    const logs = nodes.map((n) => `--- ${n.name}\n${tail(n.logFile)}`).join('\n');
    stop();
    throw new Error(`${e.message}\n${logs}`);
  }
}

function tail(file, chars = 3000) {
  return existsSync(file) ? readFileSync(file, 'utf8').slice(-chars) : '';
}
