// End-to-end: the built portal (dist/) in Debian's headless Chromium, driven by playwright-core,
// against a real development chain and a regulator's observer started here. A never-funded
// patient enrols (the hospital submits its signed request), grants and revokes consent and
// ends the enrolment, all free; a buyer is refused without a delivery key (the runtime's error as a sentence), then
// buys; the regulator's page sees the sale; a hospital casts the vote that passes a Root call
// (a shorter delivery period), so the undelivered order can be refunded from the page. Then a
// paid sale: a second never-funded patient consents, the hospital collects its records with its
// own tools (MEDLEDGER_CLI's `fhir ingest`, the node's `register-records`), the node delivers
// two orders, the buyer confirms one and disputes the other, and once the node has committed
// its payout root the patient looks up its payout and claims it, free, from the page.
// On failure: a screenshot and the nodes' logs in portal/test-results/. With
// PORTAL_SCREENSHOTS=DIR each page's screenshot is written to DIR (the README's).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { execFileSync } from 'node:child_process';
import { readFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, extname, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { ApiPromise, WsProvider, Keyring } from '@polkadot/api';
import { xxhashAsHex, blake2AsU8a, decodeAddress } from '@polkadot/util-crypto';
import { u8aConcat, stringToU8a, u8aToHex } from '@polkadot/util';
import { randomBytes } from 'node:crypto';
import { startNetwork, nodeBinary, cliBinary } from './network.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const RESULTS = join(ROOT, 'test-results');
const SHOTS = process.env.PORTAL_SCREENSHOTS;
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const STEP = 90_000; // longest wait for one step (a transaction to be final, a page to update)

let net, server, baseUrl, context, page, api, profile, storeKey;
const keyring = new Keyring({ type: 'sr25519' });

/** Serves dist/ on a free loopback port. */
function serveDist() {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
  return new Promise((resolve) => {
    const s = createServer((req, res) => {
      const path = new URL(req.url, 'http://x').pathname;
      const file = join(DIST, path === '/' ? 'index.html' : path);
      if (!file.startsWith(DIST) || !existsSync(file)) { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
    });
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

/** Signs and sends `call` from a development account and waits until its block is final. */
function finalized(call, signer) {
  return new Promise((resolve, reject) => {
    call.signAndSend(signer, { nonce: -1 }, ({ status, dispatchError }) => {
      if (dispatchError) reject(new Error(`fixture refused: ${dispatchError}`));
      else if (status.isFinalized) resolve();
    }).catch(reject);
  });
}

before(async () => {
  assert.ok(existsSync(join(DIST, 'index.html')), 'build the portal first (npm run build)');
  net = await startNetwork();
  api = await ApiPromise.create({ provider: new WsProvider(net.alice.ws), noInitWarn: true });
  // Alice General's node holds a store key (the category salts come from it) and publishes
  // where its delivery endpoint really listens.
  storeKey = randomBytes(32);
  mkdirSync(join(net.alice.basePath, 'fhir-store'), { recursive: true });
  writeFileSync(join(net.alice.basePath, 'fhir-store', 'store.key'), storeKey.toString('hex'));
  const alicePair = keyring.addFromUri('//Alice');
  const info = (await api.query.consortium.hospitals(alicePair.address)).unwrap();
  await finalized(api.tx.consortium.updateHospital({
    name: info.name, deliveryEndpoint: net.alice.delivery, peerIds: info.peerIds,
  }), alicePair);
  server = await serveDist();
  baseUrl = `http://127.0.0.1:${server.address().port}/?rpc=${net.alice.ws}&observer=${net.observer.ws}`;
  profile = mkdtempSync(join(tmpdir(), 'medledger-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(STEP);
  page.on('pageerror', (e) => console.error('page error:', e.message));
});

after(async () => {
  await context?.close().catch(() => {});
  await api?.disconnect().catch(() => {});
  server?.close();
  net?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** Runs one step; on failure keeps a screenshot and the nodes' logs. */
async function step(name, body) {
  try {
    await body();
  } catch (e) {
    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, `${name}.png`), fullPage: true }).catch(() => {});
    writeFileSync(join(RESULTS, `${name}.nodes.log`), net.logs());
    throw new Error(`step "${name}" failed (screenshot in ${RESULTS}): ${e.message}`);
  }
}

async function open(hash) {
  await page.goto(`${baseUrl}#${hash}`);
  await page.getByTestId('account').or(page.getByTestId('regulator-status')).first().waitFor();
}

async function actAs(address) {
  await page.getByTestId('account').selectOption(address);
}

/** Confirms the open transaction panel; returns its fee text once the block is final. */
async function signAndWaitFinal() {
  const panel = page.locator('.tx');
  await panel.getByTestId('tx-send').waitFor();
  await page.waitForFunction(() => !document.querySelector('[data-testid=tx-send]')?.disabled);
  const fee = await panel.getByTestId('tx-fee').textContent();
  await panel.getByTestId('tx-send').click();
  await page.waitForFunction(() => /^Final|refused|dropped|went wrong/.test(document.querySelector('[data-testid=tx-status]')?.textContent ?? ''), null, { timeout: STEP });
  const status = await panel.getByTestId('tx-status').textContent();
  assert.match(status, /^Final in block \d+/, `transaction failed: ${status}`);
  return fee;
}

async function shot(name) {
  if (SHOTS) {
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, `portal-${name}.png`), fullPage: true });
  }
}

/** A new patient key made in the page signs an enrolment request; the hospital page submits it
 * (and pays its fee). Returns the patient's address. */
async function enrolNewPatient(hospital) {
  await open('patient');
  await page.getByTestId('new-patient').click();
  await page.getByTestId('patient-address').waitFor();
  const patient = (await page.getByTestId('patient-address').textContent()).trim();
  assert.equal(await page.getByTestId('patient-balance').textContent(), '0 MED');
  await page.getByTestId('enrol-hospital').selectOption(hospital.address);
  await page.getByTestId('sign-enrolment').click();
  const request = await page.getByTestId('enrol-request').inputValue();
  assert.equal(JSON.parse(request).patient, patient);
  await open('hospital');
  await actAs(hospital.address);
  await page.getByTestId('enrol-paste').fill(request);
  await page.getByTestId('enrol-submit').click();
  const fee = await signAndWaitFinal();
  assert.match(fee, /^Fee: \d[\d.]* MED$/, 'the hospital pays a fee');
  return patient;
}

/** Passes a Root call through the consortium: Bob proposes (his aye), Charlie and Dave vote aye,
 * three of four members; the last vote's weight bound is the call's own. */
async function passRootCall(call) {
  await finalized(api.tx.consortium.propose({ DispatchAsRoot: { call: call.method.toHex() } }), keyring.addFromUri('//Bob'));
  const index = Math.max(...(await api.query.consortium.proposals.entries()).map(([key]) => key.args[0].toNumber()));
  const { weight } = await api.call.transactionPaymentCallApi.queryCallInfo(call.method, call.method.encodedLength);
  await finalized(api.tx.consortium.vote(index, true, weight), keyring.addFromUri('//Charlie'));
  await finalized(api.tx.consortium.vote(index, true, weight), keyring.addFromUri('//Dave'));
  assert.ok((await api.query.consortium.proposals(index)).isNone, 'the proposal passed');
}

test('a tokenless patient enrols, grants and revokes consent; a hospital vote passes; a buyer buys; the regulator sees the sale; the buyer refunds; a delivered sale is confirmed, another disputed, and the patient claims its payout', { timeout: 15 * 60_000 }, async () => {
  const alice = keyring.addFromUri('//Alice');
  const bob = keyring.addFromUri('//Bob');
  const ferdie = keyring.addFromUri('//Ferdie');
  let patient;

  await step('listing-fixture', async () => {
    // The hospital's dataset (its own CLI's job, not the portal's) and an open proposal.
    await finalized(api.tx.listing.createListing(
      { filterSummary: 'diabetes cohort', categories: [], timeRange: { from: 0, until: 0 }, purpose: 'Research', termsHash: '0x' + '00'.repeat(32) },
      { model: { PerRecord: 10n ** 10n }, maxRecords: 100 }), alice);
    // Bob proposes to shorten the delivery period to 10 blocks (a Root call) and votes aye;
    // Charlie votes aye; the browser casts the deciding third vote as Alice.
    const period = api.tx.system.setStorage([[xxhashAsHex(':DeliveryPeriod:', 128), '0x0a000000']]).method.toHex();
    await finalized(api.tx.consortium.propose({ DispatchAsRoot: { call: period } }), bob);
    await finalized(api.tx.consortium.vote(0, true, { refTime: 0, proofSize: 0 }), keyring.addFromUri('//Charlie'));
  });

  await step('patient-enrols', async () => { patient = await enrolNewPatient(alice); });

  await step('patient-grants-and-revokes', async () => {
    await open('patient');
    await actAs(patient);
    await page.getByTestId('enrolments').getByText('Alice General').waitFor();
    await page.getByTestId('grant-purpose').selectOption('Research');
    await page.getByTestId('grant').click();
    assert.equal(await signAndWaitFinal(), 'Fee: none (free for patients)');
    const status = page.locator('[data-testid^=consent-status-]').first();
    await page.waitForFunction(() => document.querySelector('[data-testid^=consent-status-]')?.textContent === 'in force');
    const id = (await status.getAttribute('data-testid')).split('-').pop();
    await shot('patient');
    await page.getByTestId(`revoke-${id}`).click();
    assert.equal(await signAndWaitFinal(), 'Fee: none (free for patients)');
    await page.waitForFunction((id) => /^revoked at block \d+/.test(document.querySelector(`[data-testid=consent-status-${id}]`)?.textContent ?? ''), id);

    // A consent for one category: the page fetches the patient's salt from the hospital's node
    // (a signed request) and the chain gets only the salted tag.
    await page.getByTestId('grant-scope').selectOption(`category:${alice.address}`);
    await page.getByTestId('grant-category').fill('condition');
    await page.getByTestId('grant').click();
    assert.equal(await signAndWaitFinal(), 'Fee: none (free for patients)');
    await page.getByTestId('consents').getByText('my records of category condition').waitFor();
    const consents = await api.call.consentApi.consentsOf(patient);
    const category = consents.find((c) => c.scope.isCategory);
    assert.ok(category, 'a category consent on chain');
    // Independently of the node and the page: salt = keyed BLAKE2b-256 under the store key,
    // tag = BLAKE2b-256(prefix ‖ salt ‖ code).
    const salt = blake2AsU8a(u8aConcat(stringToU8a('medledger:category-salt:v1'), decodeAddress(patient)), 256, storeKey);
    const tag = u8aToHex(blake2AsU8a(u8aConcat(stringToU8a('medledger:category:v2'), salt, stringToU8a('condition')), 256));
    assert.equal(category.scope.asCategory.toHex(), tag);
    const unsalted = u8aToHex(blake2AsU8a(u8aConcat(stringToU8a('medledger:category:v2'), new Uint8Array(32), stringToU8a('condition')), 256));
    assert.notEqual(tag, unsalted);
    assert.equal(await page.getByTestId('patient-balance').textContent(), '0 MED', 'the patient never held a unit');
    // The patient leaves the hospital, free too. Enrolled nowhere and owning no record, its
    // account is let go, and its consent still in force (the category one) ends with it.
    await page.getByTestId('enrolments').getByRole('button', { name: 'End enrolment' }).click();
    assert.equal(await signAndWaitFinal(), 'Fee: none (free for patients)');
    await page.getByText('You are not enrolled with any hospital yet.').waitFor();
    assert.equal(await page.getByTestId('patient-balance').textContent(), '0 MED');
    const ended = (await api.call.consentApi.consentsOf(patient)).filter((c) => c.revokedAt.isSome);
    assert.equal(ended.length, 2, 'both consents have ended');
  });

  await step('hospital-votes', async () => {
    await open('hospital');
    await actAs(alice.address);
    await page.getByTestId('proposals').getByText('as Root: system.setStorage').waitFor();
    await shot('hospital');
    await page.getByTestId('aye-0').click();
    await signAndWaitFinal();
    // The third aye of four members passes it: the Root call ran within the bound read from the chain.
    await page.getByText('No proposal is open.').waitFor();
  });

  await step('buyer-refused-without-key', async () => {
    await open('buyer');
    await actAs(ferdie.address);
    await page.getByTestId('buy-0').click();
    await page.getByTestId('tx-send').click();
    await page.waitForFunction(() => /refused/.test(document.querySelector('[data-testid=tx-status]')?.textContent ?? ''));
    assert.equal(await page.getByTestId('tx-status').textContent(),
      'The chain refused it: The buyer has no delivery key registered. (Escrow.NoDeliveryKey)');
  });

  await step('buyer-buys', async () => {
    // The key comes from the buyer's hardware token (medledger buyer register-key); here the
    // P-256 generator point stands in for it.
    await finalized(api.tx.delivery.registerDeliveryKey('0x036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296'), ferdie);
    await open('buyer');
    await page.getByTestId('delivery-key').getByText('Delivery key registered').waitFor();
    await page.getByTestId('buy-0').click();
    await page.locator('.tx').getByText('You buy version 1 of the listing').waitFor();
    await page.locator('.tx').getByText('1 MED is held in escrow').waitFor();
    await signAndWaitFinal();
    await page.getByTestId('order-state-0').waitFor();
    await shot('buyer');
  });

  await step('regulator-sees-the-sale', async () => {
    await open('regulator');
    assert.equal(await page.getByTestId('account').count(), 0, 'the regulator page has no account to sign with');
    assert.equal(await page.getByTestId('tx-send').count(), 0);
    await page.waitForFunction(() => document.querySelector('[data-testid=total-sales]')?.textContent === '1');
    await page.getByTestId('per-hospital').getByText('Alice General').waitFor();
    assert.equal(await page.getByTestId('total-consents-granted').textContent(), '2');
    // One revoked by the patient, one ended when the patient left its only hospital.
    assert.equal(await page.getByTestId('total-consents-revoked').textContent(), '2');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    const csv = readFileSync(await download.path(), 'utf8');
    assert.match(csv, /^block,pallet,event,hospital,fields\n/);
    assert.match(csv, /,Escrow,OrderPlaced,/);
    await shot('regulator');
  });


  await step('buyer-refunds-after-the-deadline', async () => {
    // Nobody delivers (the node has no FHIR store): 10 blocks after the purchase the buyer
    // takes the price back.
    await open('buyer');
    await actAs(ferdie.address);
    await page.getByTestId('refund-0').click();
    await signAndWaitFinal();
    await page.waitForFunction(() => document.querySelector('[data-testid=order-state-0]')?.textContent === 'refunded to you');
  });

  // A sale that pays a patient: records of a second patient in Alice General's store, delivered
  // by its node, released by the buyer's confirmation; after the epoch's end (20 blocks on a
  // development chain) the node commits its payout root and the patient claims from the page.
  let owner;
  await step('second-patient-consents', async () => {
    owner = await enrolNewPatient(alice);
    await open('patient');
    await actAs(owner);
    await page.getByTestId('grant-purpose').selectOption('Research');
    await page.getByTestId('grant').click();
    assert.equal(await signAndWaitFinal(), 'Fee: none (free for patients)');
    // Before any sale the hospital's node answers the signed request with no payout.
    await page.getByTestId('fetch-payouts').click();
    await page.getByTestId('payout-claims').getByText('no payout for you yet').waitFor();
  });

  await step('hospital-collects-records', async () => {
    // The hospital's own tools: `medledger fhir ingest` into the node's store (the store key
    // written before the node started), `medledger-node register-records` signed by Alice.
    const work = mkdtempSync(join(tmpdir(), 'medledger-fhir-'));
    try {
      const exportDir = join(work, 'export');
      mkdirSync(exportDir);
      writeFileSync(join(exportDir, 'Patient.ndjson'), JSON.stringify({ resourceType: 'Patient', id: 'p1', gender: 'female', birthDate: '1970-05-01' }) + '\n');
      writeFileSync(join(exportDir, 'Condition.ndjson'), JSON.stringify({ resourceType: 'Condition', id: 'c1',
        code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006' }] }, subject: { reference: 'Patient/p1' }, recordedDate: '2020-03-04' }) + '\n');
      writeFileSync(join(exportDir, 'Observation.ndjson'), JSON.stringify({ resourceType: 'Observation', id: 'o1', status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
        code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] }, subject: { reference: 'Patient/p1' },
        effectiveDateTime: '2021-01-02T09:30:00Z', valueQuantity: { value: 120, unit: 'mg/dL' } }) + '\n');
      writeFileSync(join(work, 'owners.csv'), `p1,${owner}\n`);
      const store = join(net.alice.basePath, 'fhir-store');
      execFileSync(cliBinary(), ['fhir', 'ingest', '--store', store, '--key', join(store, 'store.key'), '--owners', join(work, 'owners.csv'), exportDir], { stdio: 'pipe' });
      execFileSync(nodeBinary(), ['register-records', '--store', store, '--rpc-url', `http://127.0.0.1:${net.alice.rpcPort}`, '--timeout', '120'],
        { stdio: 'pipe', env: { ...process.env, MEDLEDGER_ACCOUNT_SECRET: '//Alice' } });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    assert.equal((await api.call.ownershipApi.recordsOf(owner)).length, 2, 'the condition and the observation are the patient\'s');
    // Listing 1 sells records of any date (listing 0's time range ends in 1970: nothing to deliver).
    await finalized(api.tx.listing.createListing(
      { filterSummary: 'all records', categories: [], timeRange: { from: 0, until: 2n ** 64n - 1n }, purpose: 'Research', termsHash: '0x' + '00'.repeat(32) },
      { model: { PerRecord: 10n ** 10n }, maxRecords: 100 }), alice);
    // The delivery period back to a week, so that the node's delivery cannot race the deadline.
    const week = u8aToHex(api.createType('u32', 7 * 24 * 1200).toU8a());
    await passRootCall(api.tx.system.setStorage([[xxhashAsHex(':DeliveryPeriod:', 128), week]]));
  });

  await step('buyer-confirms-and-disputes', async () => {
    await open('buyer');
    await actAs(ferdie.address);
    for (let i = 0; i < 2; i++) {
      await page.getByTestId('buy-1').click();
      await signAndWaitFinal();
    }
    // Orders 1 and 2: the node delivers each (the receipt on chain), then the buyer confirms
    // one and disputes the other.
    for (const order of [1, 2]) {
      await page.waitForFunction((o) => /^delivered/.test(document.querySelector(`[data-testid=order-state-${o}]`)?.textContent ?? ''), order, { timeout: 2 * STEP });
    }
    await page.getByTestId('confirm-1').click();
    await signAndWaitFinal();
    await page.waitForFunction(() => document.querySelector('[data-testid=order-state-1]')?.textContent === 'released to the hospital');
    await page.getByTestId('dispute-2').click();
    await signAndWaitFinal();
    await page.waitForFunction(() => /^disputed; the members vote until block \d+/.test(document.querySelector('[data-testid=order-state-2]')?.textContent ?? ''));
  });

  await step('patient-claims', async () => {
    // What the patient is owed, from the chain, not the page: the owners' 70 % of the
    // released order's price, all of whose records are this patient's.
    const order = (await api.query.escrow.orders(1)).unwrap();
    const records = order.receipt.unwrap().recordCount.toNumber();
    assert.equal(records, 2);
    const earned = BigInt(records) * 10n ** 10n * 7n / 10n;
    // The node commits the payout root by itself once the release's epoch has ended.
    const start = Date.now();
    while ((await api.query.revenue.latestRoot(alice.address)).isNone) {
      assert.ok(Date.now() - start < 4 * STEP, 'no payout root within 6 minutes');
      await new Promise((r) => setTimeout(r, 3000));
    }
    await open('patient');
    await actAs(owner);
    assert.equal(await page.getByTestId('earnings').textContent(), 'Claimed so far: 0 MED');
    await page.getByTestId('fetch-payouts').click();
    const claim = page.locator(`[data-testid^="claim-${u8aToHex(decodeAddress(alice.address))}-"]`);
    await claim.waitFor();
    const epoch = (await claim.getAttribute('data-testid')).split('-').pop();
    const row = page.getByTestId('payout-claims').locator('tr', { has: claim });
    assert.match(await row.textContent(), new RegExp(`Alice General.*epoch \\d+.*0\\.014 MED.*0\\.014 MED to claim`));
    await claim.click();
    await page.locator('.tx').getByText('0.014 MED from Alice General').waitFor();
    assert.equal(await signAndWaitFinal(), 'Fee: none (free for patients)');
    await page.waitForFunction((id) => document.querySelector(`[data-testid=${id}]`)?.textContent === 'claimed',
      `payout-state-${u8aToHex(decodeAddress(alice.address))}-${epoch}`);
    assert.equal(await page.getByTestId('earnings').textContent(), 'Claimed so far: 0.014 MED');
    assert.equal(await page.getByTestId('patient-balance').textContent(), '0.014 MED', 'paid into the never-funded account');
    assert.equal(BigInt((await api.call.revenueApi.claimed(owner)).toString()), earned);
    await shot('patient-claim');
  });
});
