// Load benchmark of the 4-hospital network (issue 17, item 3): three measured phases, in one run,
// of pre-signed transactions from many accounts, all submitted to one node over JSON-RPC with
// author_submitAndWatchExtrinsic:
//   (a) balances.transferKeepAlive from funded accounts,
//   (b) consent.grantConsent from tokenless patients (free calls; a hospital enrolled each one),
//   (c) escrow.buy of a hospital's listing by funded buyers with a registered delivery key.
// Every accepted transaction is accounted for: its last status reported to the submitter, and
// whether a finalized block holds it. Writes OUT.txt and OUT.json (scripts/bench-load.sh).
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cpus } from 'node:os';
import { createECDH, randomBytes } from 'node:crypto';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { u8aToHex } from '@polkadot/util';
import { startLocalNetwork, processUsage, VALIDATORS, rpc } from './network.mjs';

const UNIT = 10n ** 12n;
const TERMINAL = new Set(['Finalized', 'Dropped', 'Invalid', 'Usurped', 'FinalityTimeout']);

const { values: opt } = parseArgs({
  options: {
    node: { type: 'string' },
    senders: { type: 'string', default: '200' },
    transfers: { type: 'string', default: '20' }, // per sender
    patients: { type: 'string', default: '200' },
    grants: { type: 'string', default: '20' }, // per patient (the runtime allows 20 free calls in 10 minutes)
    buyers: { type: 'string', default: '200' },
    buys: { type: 'string', default: '20' }, // per buyer
    'submit-node': { type: 'string', default: 'alice' },
    'node-arg': { type: 'string', multiple: true, default: [] },
    'in-flight': { type: 'string', default: '512' }, // submissions awaiting the node's answer
    'phase-timeout': { type: 'string', default: '150' }, // seconds for a phase's transactions to end
    grace: { type: 'string', default: '30' }, // seconds after the last phase before counting losses
    idle: { type: 'string', default: '15' }, // seconds of idle finality lag sampled before the phases
    out: { type: 'string', default: 'bench-results/load' },
    'keep-logs': { type: 'string' }, // copy the nodes' logs into this folder
    'keep-chains': { type: 'boolean', default: false }, // leave the nodes' base paths (e.g. for `benchmark storage`)
    single: { type: 'boolean', default: false }, // one --dev node: for developing the driver
  },
});
const num = (name) => Number(opt[name]);
const log = (...args) => console.error(new Date().toISOString().slice(11, 19), ...args);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Signing and watching transactions

/**
 * Signs `call` offline with everything given (no RPC per transaction): immortal without
 * `mortalAt`, else valid for 64 blocks from `mortalAt` ({ number, hash }).
 */
function signOffline(api, call, signer, { nonce, tip = 0, mortalAt = null }) {
  const era = mortalAt ? api.createType('ExtrinsicEra', { current: mortalAt.number, period: 64 }) : undefined;
  return call.sign(signer, {
    nonce, tip, era, blockHash: mortalAt ? mortalAt.hash : api.genesisHash, genesisHash: api.genesisHash,
    runtimeVersion: api.runtimeVersion, signedExtensions: api.registry.signedExtensions, version: api.extrinsicType,
  });
}

/** A submitted transaction and everything the node told its submitter about it. */
function record(phase, signer, nonce, extrinsic) {
  return { phase, signer, nonce, hex: extrinsic.toHex(), hash: extrinsic.hash.toHex(), accepted: false,
    rejection: null, statuses: [], times: [], inBlockAt: null, finalizedAt: null, final: null, chainBlock: null, dispatchError: null };
}

/**
 * Submits every record's transaction with author_submitAndWatchExtrinsic, at most `inFlight`
 * awaiting the node's answer at once; resolves when each was accepted or refused. Statuses keep
 * arriving afterwards (into the records).
 */
async function submitAll(api, records, inFlight) {
  let next = 0;
  const worker = async () => {
    while (next < records.length) {
      const r = records[next++];
      r.submittedAt = Date.now();
      try {
        r.unsubscribe = await api.rpc.author.submitAndWatchExtrinsic(r.hex, (status) => onStatus(r, status));
        r.accepted = true;
      } catch (e) {
        r.rejection = e.message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, inFlight) }, worker));
}

function onStatus(r, status) {
  const now = Date.now();
  r.statuses.push(status.type);
  r.times.push(now); // when each status came (for matching with the nodes' logs)
  if (status.isInBlock && r.inBlockAt === null) r.inBlockAt = now;
  if (status.isFinalized) { r.finalizedAt = now; r.finalBlock = status.asFinalized.toHex(); }
  if (TERMINAL.has(status.type)) {
    r.final = status.type;
    r.unsubscribe?.();
  }
}

const pending = (records) => records.filter((r) => r.accepted && r.final === null).length;

async function waitForEnd(records, timeoutSeconds, what) {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let last = 0;
  while (pending(records) > 0 && Date.now() < deadline) {
    if (Date.now() - last > 10_000) { log(`${what}: ${pending(records)} of ${records.length} without an end yet`); last = Date.now(); }
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------
// Setup (not measured): funding, enrolment, delivery keys, the listing

/**
 * Sends `calls` ([{ signer, call }]) signed by their signers (mortal, so a lost one expires),
 * each signer's in nonce order, and waits until each is finalized; what did not make it is sent
 * again (up to 4 rounds) with the nonce of the finalized state and a tip that replaces any copy
 * still pooled. Throws if something never makes it: the measured phases need all of it.
 */
async function setupSend(api, calls, what) {
  let todo = calls;
  for (let round = 1; round <= 4 && todo.length; round++) {
    const finalized = await api.rpc.chain.getFinalizedHead();
    const mortalAt = { hash: finalized, number: (await api.rpc.chain.getHeader(finalized)).number.toNumber() };
    const at = await api.at(finalized);
    const nonces = new Map();
    const records = [];
    for (const c of todo) {
      const address = c.signer.address;
      if (!nonces.has(address)) nonces.set(address, (await at.query.system.account(address)).nonce.toNumber());
      const nonce = nonces.get(address);
      nonces.set(address, nonce + 1);
      const tx = signOffline(api, c.call, c.signer, { nonce, tip: round - 1, mortalAt });
      records.push(Object.assign(record('setup', address, nonce, tx), { c }));
    }
    await submitAll(api, records, 256);
    await waitForEnd(records, 90, `${what} (round ${round})`);
    const failed = await dispatchFailures(api, records.filter((r) => r.final === 'Finalized'));
    if (failed.length) throw new Error(`${what}: ${failed.length} failed on chain, e.g. ${failed[0]}`);
    todo = records.filter((r) => r.final !== 'Finalized').map((r) => r.c);
    if (todo.length) log(`${what}: ${todo.length} of ${records.length} not finalized, again`);
  }
  if (todo.length) throw new Error(`${what}: ${todo.length} never finalized`);
}

/** The dispatch errors of finalized setup transactions (they must all have succeeded). */
async function dispatchFailures(api, records) {
  const byBlock = new Map();
  for (const r of records) {
    const block = r.finalBlock;
    if (block) byBlock.set(block, [...(byBlock.get(block) ?? []), r]);
  }
  const failures = [];
  for (const [hash, rs] of byBlock) {
    const block = await api.rpc.chain.getBlock(hash);
    const events = await (await api.at(hash)).query.system.events();
    const index = new Map(block.block.extrinsics.map((x, i) => [x.hash.toHex(), i]));
    for (const r of rs) {
      const i = index.get(r.hash);
      const failed = events.find((e) => e.phase.isApplyExtrinsic && e.phase.asApplyExtrinsic.toNumber() === i && api.events.system.ExtrinsicFailed.is(e.event));
      if (failed) failures.push(`${r.hash}: ${explain(api, failed.event.data[0])}`);
    }
  }
  return failures;
}

function explain(api, dispatchError) {
  if (dispatchError.isModule) {
    const m = api.registry.findMetaError(dispatchError.asModule);
    return `${m.section}.${m.name}`;
  }
  return dispatchError.type;
}

async function setup(api, keyring, accounts) {
  const hospitals = VALIDATORS.map((n) => keyring.addFromUri(`//${n[0].toUpperCase()}${n.slice(1)}`));
  // Funding: each hospital pays a quarter of the fresh accounts.
  const toFund = [...accounts.senders, ...accounts.buyers];
  await setupSend(api, toFund.map((a, i) => ({ signer: hospitals[i % 4], call: api.tx.balances.transferKeepAlive(a.address, 10n * UNIT) })), 'funding');
  log(`funded ${toFund.length} accounts`);

  // Enrolment: each patient signs its enrolment message; a hospital submits it.
  const head = (await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead())).number.toNumber();
  const validUntil = head + 600;
  const enrolments = [];
  for (const [i, patient] of accounts.patients.entries()) {
    const hospital = hospitals[i % 4];
    const { message } = await api.call.ownershipApi.enrolmentMessage(hospital.address, patient.address, validUntil);
    const signature = patient.sign(message.toU8a(true));
    enrolments.push({ signer: hospital, call: api.tx.ownership.enrol(patient.address, validUntil, { Sr25519: u8aToHex(signature) }) });
  }
  await setupSend(api, enrolments, 'enrolment');
  log(`enrolled ${accounts.patients.length} patients`);

  // Delivery keys (a valid compressed P-256 point each) and a listing by Bob General.
  const keys = accounts.buyers.map((b) => ({ signer: b, call: api.tx.delivery.registerDeliveryKey(u8aToHex(p256Key())) }));
  const listingId = (await api.query.listing.nextListingId?.())?.toNumber?.() ?? 0;
  keys.push({ signer: hospitals[1], call: api.tx.listing.createListing(
    { filterSummary: 'load benchmark', categories: [], timeRange: { from: 0, until: 0 }, purpose: 'Research', termsHash: '0x' + '00'.repeat(32) },
    { model: { Flat: UNIT / 100n }, maxRecords: 1 }) });
  await setupSend(api, keys, 'delivery keys and listing');
  const listing = (await api.query.listing.listings(listingId)).unwrap();
  log(`listing ${listingId} at version ${listing.version.toNumber()}; ${accounts.buyers.length} delivery keys`);
  return { listingId, listingVersion: listing.version.toNumber(), price: UNIT / 100n };
}

function p256Key() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return ecdh.getPublicKey(null, 'compressed');
}

// ---------------------------------------------------------------------------------------------
// The measured phases

/** Pre-signs `perAccount` transactions per signer (nonces from `firstNonce` on, immortal). */
function presign(api, phase, signers, perAccount, firstNonce, makeCall) {
  const records = [];
  // Nonce-major order: every signer's first transaction, then every second, …: what many
  // independent users sending at once look like, each sender's own in order.
  for (let k = 0; k < perAccount; k++) {
    for (const [i, signer] of signers.entries()) {
      const nonce = firstNonce.get(signer.address) + k;
      const tx = signOffline(api, makeCall(i, k), signer, { nonce });
      records.push(record(phase, signer.address, nonce, tx));
    }
  }
  return records;
}

/** Best-minus-finalized block numbers on the submitting node, sampled every 500 ms. */
function lagSampler(api) {
  let best = 0, finalized = 0;
  const unsubs = [
    api.rpc.chain.subscribeNewHeads((h) => { best = h.number.toNumber(); }),
    api.rpc.chain.subscribeFinalizedHeads((h) => { finalized = h.number.toNumber(); }),
  ];
  let samples = null;
  const timer = setInterval(() => { if (samples && best && finalized) samples.push(best - finalized); }, 500);
  return {
    start() { samples = []; },
    take() { const s = samples ?? []; samples = null; return s; },
    async stop() { clearInterval(timer); for (const u of unsubs) (await u)(); },
  };
}

async function runPhase(api, name, records, net, lag) {
  const cpuBefore = net.nodes.map((n) => processUsage(n.pid).cpuSeconds);
  const startedAt = Date.now();
  lag.start();
  log(`phase ${name}: submitting ${records.length}`);
  await submitAll(api, records, num('in-flight'));
  const submittedAt = Date.now();
  log(`phase ${name}: ${records.filter((r) => r.accepted).length} accepted in ${((submittedAt - startedAt) / 1000).toFixed(1)} s`);
  await waitForEnd(records, num('phase-timeout'), `phase ${name}`);
  const endedAt = Date.now();
  const lagSamples = lag.take();
  const nodes = net.nodes.map((n, i) => {
    const u = processUsage(n.pid);
    return { name: n.name, cpuSeconds: +(u.cpuSeconds - cpuBefore[i]).toFixed(2), vmHwmMiB: +(u.vmHwmKiB / 1024).toFixed(1) };
  });
  return { name, records, startedAt, submittedAt, endedAt, lagSamples, nodes };
}

// ---------------------------------------------------------------------------------------------
// Accounting

/** Every extrinsic of the finalized chain from `from` on: hash → { block, failed }. */
async function scanFinalized(api, from) {
  const head = (await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead())).number.toNumber();
  const found = new Map();
  const blocks = [];
  for (let n = from; n <= head; n++) {
    const hash = await api.rpc.chain.getBlockHash(n);
    const [block, at] = await Promise.all([api.rpc.chain.getBlock(hash), api.at(hash)]);
    const [events, now, weight] = await Promise.all([at.query.system.events(), at.query.timestamp.now(), at.query.system.blockWeight()]);
    const failed = new Map();
    for (const e of events) {
      if (e.phase.isApplyExtrinsic && api.events.system.ExtrinsicFailed.is(e.event)) failed.set(e.phase.asApplyExtrinsic.toNumber(), explain(api, e.event.data[0]));
    }
    block.block.extrinsics.forEach((x, i) => found.set(x.hash.toHex(), { block: n, time: now.toNumber(), failed: failed.get(i) ?? null }));
    blocks.push({ number: n, parentHash: block.block.header.parentHash.toHex(), time: now.toNumber(), extrinsics: block.block.extrinsics.length, normalRefTime: weight.normal.refTime.toBigInt() });
  }
  return { found, blocks, head };
}

/**
 * What each node's log says about the blocks it authored, by `authoredKey`: { author, buildMs,
 * end }. sc-basic-authorship logs one line per proposal, with why it stopped adding
 * transactions (NoMoreTransactions, HitDeadline, HitBlockWeightLimit, HitBlockSizeLimit). The
 * hash it logs is the block's before the author's seal, so blocks are matched by number and
 * parent (which the log abbreviates as 0x1234…abcd).
 */
const authoredKey = (number, parentHash) => `${number} ${parentHash.slice(0, 6)}…${parentHash.slice(-4)}`;
function authoredBlocks(nodes) {
  const line = /Prepared block for proposing at (\d+) \((\d+) ms\) hash: 0x[0-9a-f]+; parent_hash: (0x[0-9a-f]{4}…[0-9a-f]{4}); end: (\w+); extrinsics_count: \d+/;
  const out = new Map();
  for (const n of nodes) {
    let text = '';
    try { text = readFileSync(n.logFile, 'utf8'); } catch { continue; }
    for (const l of text.split('\n')) {
      const m = line.exec(l);
      if (m) out.set(`${m[1]} ${m[3]}`, { author: n.name, buildMs: Number(m[2]), end: m[4] });
    }
  }
  return out;
}

function countBy(items, key) {
  const out = {};
  for (const item of items) { const k = key(item); out[k] = (out[k] ?? 0) + 1; }
  return out;
}

const percentile = (xs, p) => xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] : null;

function summarisePhase(phase, scan, authored, maxNormalRefTime) {
  const rs = phase.records;
  for (const r of rs) {
    const hit = scan.found.get(r.hash);
    r.chainBlock = hit?.block ?? null;
    r.dispatchError = hit?.failed ?? null;
  }
  const accepted = rs.filter((r) => r.accepted);
  const onChain = accepted.filter((r) => r.chainBlock !== null);
  const seconds = (t) => (t - phase.startedAt) / 1000;
  const lastInBlock = Math.max(...accepted.map((r) => r.inBlockAt ?? 0));
  const lastFinal = Math.max(...accepted.map((r) => r.finalizedAt ?? 0));
  const inBlockCount = accepted.filter((r) => r.inBlockAt !== null).length;
  const finalizedReported = accepted.filter((r) => r.final === 'Finalized').length;
  const reportedEnd = accepted.filter((r) => r.final && r.final !== 'Finalized');
  const lost = accepted.filter((r) => r.final === null && r.chainBlock === null);
  const blocksWith = scan.blocks.filter((b) => onChain.some((r) => r.chainBlock === b.number));
  // Why each block holding the phase's transactions was not bigger: its author's log line and
  // how much of the block's normal-class weight its transactions used.
  const blocks = blocksWith.map((b) => ({
    number: b.number,
    phaseTxs: onChain.filter((r) => r.chainBlock === b.number).length,
    normalWeightShare: +(Number(b.normalRefTime) / Number(maxNormalRefTime)).toFixed(3),
    ...(authored.get(authoredKey(b.number, b.parentHash)) ?? { author: null, buildMs: null, end: null }),
  }));
  return {
    phase: phase.name,
    submitted: rs.length,
    accepted: accepted.length,
    refusedAtSubmission: rs.length - accepted.length,
    refusalReasons: countBy(rs.filter((r) => !r.accepted), (r) => r.rejection),
    includedReported: inBlockCount,
    finalizedReported,
    inFinalizedChain: onChain.length,
    dispatchFailed: countBy(onChain.filter((r) => r.dispatchError), (r) => r.dispatchError),
    reportedDroppedOrInvalid: countBy(reportedEnd, (r) => r.final),
    reportedDroppedButOnChain: reportedEnd.filter((r) => r.chainBlock !== null).length,
    finalizedNotReported: accepted.filter((r) => r.final === null && r.chainBlock !== null).length,
    silentlyLost: lost.length,
    lostStatusHistories: countBy(lost, (r) => r.statuses.join('>') || '(none)'),
    lostSenders: new Set(lost.map((r) => r.signer)).size,
    submitSeconds: +seconds(phase.submittedAt).toFixed(1),
    includedPerSecond: inBlockCount ? +(inBlockCount / seconds(lastInBlock)).toFixed(1) : 0,
    finalizedPerSecond: finalizedReported ? +(finalizedReported / seconds(lastFinal)).toFixed(1) : 0,
    secondsToLastFinalized: finalizedReported ? +seconds(lastFinal).toFixed(1) : null,
    blocksWithPhaseTxs: blocksWith.length,
    maxPhaseTxsPerBlock: Math.max(0, ...blocks.map((b) => b.phaseTxs)),
    blocks,
    finalityLag: { samples: phase.lagSamples.length, max: Math.max(0, ...phase.lagSamples), mean: phase.lagSamples.length ? +(phase.lagSamples.reduce((a, b) => a + b, 0) / phase.lagSamples.length).toFixed(2) : null, p95: percentile(phase.lagSamples, 0.95) },
    nodes: phase.nodes,
  };
}

/** Where the silently lost transactions went: their senders' nonces on chain and in the pools. */
async function diagnoseLost(api, net, phases, scan) {
  const lost = phases.flatMap((p) => p.records.filter((r) => r.accepted && r.final === null && r.chainBlock === null));
  if (!lost.length) return null;
  // author_pendingExtrinsics lists ready transactions only: a lost one still waiting in a
  // pool's future queue (behind a nonce gap) is not in it (the nodes' txpool debug log shows it).
  const pools = {};
  for (const n of net.nodes) {
    try { pools[n.name] = (await rpc(n.rpcPort, 'author_pendingExtrinsics')).length; } catch (e) { pools[n.name] = e.message; }
  }
  const lostHashes = new Set(lost.map((r) => r.hash));
  const submitNode = net.nodes.find((n) => n.name === opt['submit-node']);
  const pooled = (await rpc(submitNode.rpcPort, 'author_pendingExtrinsics')).filter((hex) => lostHashes.has(api.createType('Extrinsic', hex).hash.toHex())).length;
  const at = await api.at(await api.rpc.chain.getFinalizedHead());
  // Per sender: is what was lost a gap (a later nonce got in) or the tail of its sequence?
  const bySender = new Map();
  for (const r of lost) bySender.set(r.signer, [...(bySender.get(r.signer) ?? []), r.nonce]);
  let tails = 0, gaps = 0;
  const examples = [];
  for (const [signer, nonces] of bySender) {
    const chainNonce = (await at.query.system.account(signer)).nonce.toNumber();
    const min = Math.min(...nonces);
    if (min >= chainNonce) tails++; else gaps++;
    if (examples.length < 5) examples.push({ signer, chainNonce, lostNonces: nonces.sort((a, b) => a - b) });
  }
  return { lost: lost.length, readyInPools: pools, lostReadyInSubmitNodePool: pooled, senders: bySender.size, sendersStuckAtFirstLostNonce: tails, sendersWithLaterNonceOnChain: gaps, examples };
}

// ---------------------------------------------------------------------------------------------
// Report

function machine() {
  const model = (readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m) ?? [])[1] ?? 'unknown';
  let commit = 'unknown';
  try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch {}
  let dirty = false;
  try { dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== ''; } catch {}
  return { nproc: cpus().length, cpuModel: model, date: new Date().toISOString(), gitCommit: commit + (dirty ? ' (with uncommitted changes)' : '') };
}

/** Most transactions of the phase in one block that stopped at the weight limit (0 if none did). */
function fullBlock(phase) {
  return Math.max(0, ...phase.blocks.filter((b) => b.end === 'HitBlockWeightLimit').map((b) => b.phaseTxs));
}

/**
 * A phase's rate against the transfers'. What a full block holds does not depend on how a short
 * burst falls into slots, so where both phases filled a block to the weight limit that ratio is
 * the chain's sustained rate ratio; otherwise the finalized rates over the bursts are compared.
 */
function rateRatio(phase, transfers) {
  if (fullBlock(phase) && fullBlock(transfers)) return fullBlock(phase) / fullBlock(transfers);
  return phase.finalizedPerSecond / transfers.finalizedPerSecond;
}

function text(result) {
  const lines = [];
  const t = result.transfer;
  lines.push('MedLedger load benchmark (scripts/bench-load.sh)', '');
  lines.push(`date ${result.machine.date}; git ${result.machine.gitCommit}; ${result.machine.nproc} CPUs: ${result.machine.cpuModel}`);
  lines.push(`binary ${result.binary}`);
  lines.push(`node command (alice): ${result.nodeCommand}`);
  lines.push(`counts: ${result.counts.senders} senders x ${result.counts.transfers} transfers; ${result.counts.patients} patients x ${result.counts.grants} consent grants; ${result.counts.buyers} buyers x ${result.counts.buys} purchases; submitted to ${result.counts.submitNode}, at most ${result.counts.inFlight} submissions in flight`);
  lines.push(`idle network before the phases: finality lag max ${result.idleLag.max}, mean ${result.idleLag.mean} over ${result.idleLag.samples} samples`);
  lines.push('');
  for (const p of result.phases) {
    lines.push(`== ${p.phase}`);
    lines.push(`submitted ${p.submitted}, accepted ${p.accepted} (refused at submission ${p.refusedAtSubmission}${p.refusedAtSubmission ? ': ' + JSON.stringify(p.refusalReasons) : ''}), submitted in ${p.submitSeconds} s`);
    lines.push(`reported in block ${p.includedReported}, reported finalized ${p.finalizedReported}, in the finalized chain ${p.inFinalizedChain}${Object.keys(p.dispatchFailed).length ? ' (dispatch failed: ' + JSON.stringify(p.dispatchFailed) + ')' : ''}`);
    lines.push(`rates over the phase: ${p.includedPerSecond} included/s, ${p.finalizedPerSecond} finalized/s (last finalized ${p.secondsToLastFinalized} s after the first submission); ${p.blocksWithPhaseTxs} blocks, at most ${p.maxPhaseTxsPerBlock} per block`);
    if (p.phase !== 'transfers' && t.finalizedPerSecond) {
      const perBlock = fullBlock(p) && fullBlock(t) ? `, ${(fullBlock(p) / fullBlock(t)).toFixed(2)} (transactions per block stopped at the weight limit: ${fullBlock(p)} against ${fullBlock(t)})` : '';
      lines.push(`ratio to the transfer rate: ${(p.finalizedPerSecond / t.finalizedPerSecond).toFixed(2)} (finalized/s), ${(p.includedPerSecond / t.includedPerSecond).toFixed(2)} (included/s)${perBlock}`);
    }
    lines.push('blocks (transactions of the phase, share of the normal-class weight limit used, author, build time, why it stopped): ' + p.blocks.map((b) => `#${b.number} ${b.phaseTxs} tx ${Math.round(b.normalWeightShare * 100)}% ${b.author ?? '?'} ${b.buildMs ?? '?'} ms ${b.end ?? '?'}`).join('; '));
    lines.push(`finality lag (best - finalized, blocks, every 0.5 s): max ${p.finalityLag.max}, mean ${p.finalityLag.mean}, p95 ${p.finalityLag.p95} over ${p.finalityLag.samples} samples`);
    lines.push(`ACCOUNTING: finalized ${p.inFinalizedChain} | reported dropped/invalid/usurped ${JSON.stringify(p.reportedDroppedOrInvalid)}${p.reportedDroppedButOnChain ? ` (${p.reportedDroppedButOnChain} of them on chain after all)` : ''} | finalized but not reported ${p.finalizedNotReported} | SILENTLY LOST ${p.silentlyLost}${p.silentlyLost ? ` (${p.lostSenders} senders; status histories ${JSON.stringify(p.lostStatusHistories)})` : ''}`);
    lines.push('nodes (CPU seconds in the phase, peak RSS so far): ' + p.nodes.map((n) => `${n.name} ${n.cpuSeconds} s ${n.vmHwmMiB} MiB`).join(', '));
    lines.push('');
  }
  const total = result.phases.reduce((a, p) => ({ accepted: a.accepted + p.accepted, finalized: a.finalized + p.inFinalizedChain, lost: a.lost + p.silentlyLost }), { accepted: 0, finalized: 0, lost: 0 });
  lines.push(`== all phases: accepted ${total.accepted}, finalized ${total.finalized}, silently lost ${total.lost} (grace ${result.counts.graceSeconds} s after the last phase; finalized chain scanned from block ${result.scannedFrom} to ${result.scannedTo})`);
  if (result.lostDiagnosis) lines.push(`lost transactions: ${JSON.stringify(result.lostDiagnosis)}`);
  const targets = result.targets;
  lines.push(`targets (a rate ratio is judged on full blocks where both phases filled one, else on the finalized rates): grants >= 0.8x transfer rate: ${targets.grants}; purchases >= 0.8x: ${targets.purchases}; finality lag <= 2 blocks: ${targets.lag}; 0 accepted lost: ${targets.lost}`);
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------

async function main() {
  await cryptoWaitReady();
  const binary = opt.node;
  if (!binary) throw new Error('--node BINARY is required');
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  // Fresh accounts every run (random seeds): nonces start at 0, as for new users.
  const fresh = (n) => Array.from({ length: n }, () => keyring.addFromSeed(randomBytes(32)));
  const accounts = { senders: fresh(num('senders')), patients: fresh(num('patients')), buyers: fresh(num('buyers')) };

  const net = await startLocalNetwork({ binary, extraArgs: opt['node-arg'], single: opt.single, keepDir: opt['keep-chains'], log });
  let api;
  try {
    const submitNode = net.nodes.find((n) => n.name === opt['submit-node']);
    if (!submitNode) throw new Error(`--submit-node must be one of ${VALIDATORS.join(', ')}`);
    api = await ApiPromise.create({ provider: new WsProvider(submitNode.ws), noInitWarn: true });
    const market = await setup(api, keyring, accounts);
    const firstBlock = (await api.rpc.chain.getHeader()).number.toNumber();
    const lag = lagSampler(api);

    // (a) transfers: each sender pays the next one a milli-unit.
    const zero = (signers) => new Map(signers.map((s) => [s.address, 0]));
    const senders = accounts.senders;
    const transfers = presign(api, 'transfers', senders, num('transfers'), zero(senders),
      (i) => api.tx.balances.transferKeepAlive(senders[(i + 1) % senders.length].address, UNIT / 1000n));
    // (b) consent grants, free: all the patient's records, for research, to anyone.
    const grants = presign(api, 'consent grants', accounts.patients, num('grants'), zero(accounts.patients),
      () => api.tx.consent.grantConsent({ All: null }, 'Research', { Anyone: null }, null));
    // (c) purchases of Bob General's listing; nonce 0 went to the delivery key.
    const buyerNonces = new Map(accounts.buyers.map((b) => [b.address, 1]));
    const buys = presign(api, 'purchases', accounts.buyers, num('buys'), buyerNonces,
      () => api.tx.escrow.buy(market.listingId, market.price, market.listingVersion));
    log(`pre-signed ${transfers.length} transfers, ${grants.length} grants, ${buys.length} purchases`);

    // Finality lag of the idle network, to compare the phases' with.
    lag.start();
    await sleep(num('idle') * 1000);
    const idle = lag.take();
    const idleLag = { samples: idle.length, max: Math.max(0, ...idle), mean: idle.length ? +(idle.reduce((a, b) => a + b, 0) / idle.length).toFixed(2) : null };
    const phases = [];
    for (const [name, records] of [['transfers', transfers], ['consent grants', grants], ['purchases', buys]]) {
      phases.push(await runPhase(api, name, records, net, lag));
    }
    log(`grace period: ${num('grace')} s`);
    await waitForEnd(phases.flatMap((p) => p.records), num('grace'), 'grace');
    await lag.stop();
    const scan = await scanFinalized(api, firstBlock);
    const authored = authoredBlocks(net.nodes);
    const maxNormalRefTime = api.consts.system.blockWeights.perClass.normal.maxTotal.unwrap().refTime.toBigInt();
    const summaries = phases.map((p) => summarisePhase(p, scan, authored, maxNormalRefTime));
    const lostDiagnosis = await diagnoseLost(api, net, phases, scan);
    const [t, g, b] = summaries;
    const ok = (x) => (x ? 'met' : 'NOT met');
    const result = {
      machine: machine(), binary, nodeCommand: [binary, ...net.nodes[0].args].join(' '),
      counts: { senders: num('senders'), transfers: num('transfers'), patients: num('patients'), grants: num('grants'), buyers: num('buyers'), buys: num('buys'), submitNode: opt['submit-node'], inFlight: num('in-flight'), graceSeconds: num('grace') },
      transfer: t, idleLag, phases: summaries, scannedFrom: firstBlock, scannedTo: scan.head, lostDiagnosis,
      targets: {
        grants: ok(rateRatio(g, t) >= 0.8), purchases: ok(rateRatio(b, t) >= 0.8),
        lag: ok(summaries.every((s) => s.finalityLag.max <= 2)), lost: ok(summaries.every((s) => s.silentlyLost === 0)),
      },
      blocks: scan.blocks.map((b) => ({ ...b, normalRefTime: b.normalRefTime.toString() })),
    };
    delete result.transfer.records;
    mkdirSync(dirname(opt.out), { recursive: true });
    writeFileSync(`${opt.out}.txt`, text(result));
    writeFileSync(`${opt.out}.json`, JSON.stringify(result, null, 1) + '\n');
    // The per-transaction log, for digging into losses (not meant to be committed).
    writeFileSync(`${opt.out}.transactions.ndjson`, phases.flatMap((p) => p.records).map(({ unsubscribe, hex, ...r }) => JSON.stringify(r)).join('\n') + '\n');
    process.stdout.write(text(result));
  } finally {
    if (opt['keep-logs']) {
      mkdirSync(opt['keep-logs'], { recursive: true });
      for (const n of net.nodes) try { copyFileSync(n.logFile, join(opt['keep-logs'], `${n.name}.log`)); } catch {}
    }
    await api?.disconnect().catch(() => {});
    await net.shutdown();
  }
}

main().then(() => process.exit(0), (e) => { console.error(e.stack ?? e); process.exit(1); });
