// Patient: my hospitals, my consents (grant in words, revoke), my earnings and their claims, and
// which sales my consents covered. Works for an account that holds no tokens: its calls are free,
// and a hospital submits (and pays for) its enrolment.
import { formatMed, purposeWords, PURPOSES, type Consent, type Grantee, type Order, type Purpose, type Scope } from '../chain';
import type { Ctx, Page } from '../main';
import { blocksInWords, confirmTx, h, table, whenBlock } from '../ui';
import { categoryOfTag, categoryTag, COMMON_CATEGORIES, fetchCategorySalt } from '../categories';
import { fetchPayouts, type PayoutClaim } from '../owner';

const EXPIRY: [string, number | undefined][] = [
  ['until I revoke it', undefined], ['for one day', 86400], ['for one week', 7 * 86400],
  ['for 30 days', 30 * 86400], ['for one year', 365 * 86400],
];

/** The patient's category salts fetched in this page, by `${patient}|${hospital}`. */
const salts = new Map<string, Uint8Array>();

export function scopeWords(scope: Scope, patient?: string): string {
  if (scope.kind === 'all') return 'all my records';
  if (scope.kind === 'record') return `my record ${scope.record.slice(0, 10)}…`;
  const code = scope.code ?? [...salts].filter(([key]) => key.startsWith(`${patient}|`))
    .map(([, salt]) => categoryOfTag(salt, scope.tag)).find((c) => c);
  return code ? `my records of category ${code}` : `my records of one category (private tag ${scope.tag.slice(0, 10)}…)`;
}

async function saltAt(ctx: Ctx, hospital: string): Promise<Uint8Array> {
  const me = ctx.account!;
  const key = `${me.address}|${hospital}`;
  let salt = salts.get(key);
  if (!salt) {
    const endpoint = ctx.hospitals.find((x) => x.account === hospital)?.endpoint;
    if (!endpoint) throw new Error(`${ctx.nameOf(hospital)} publishes no delivery endpoint.`);
    salt = await fetchCategorySalt(me.signer, endpoint);
    salts.set(key, salt);
  }
  return salt;
}

export function patientPage(el: HTMLElement, ctx: Ctx): Page {
  const me = ctx.account;
  const tx = h('div', { 'data-testid': 'patient-tx' });
  const you = h('section', {});
  const hospitals = h('section', {}, h('h2', {}, 'My hospitals'));
  const hospitalList = h('div', {});
  const consents = h('div', {});
  const earnings = h('section', {}, h('h2', {}, 'What I have earned'));
  const used = h('section', {}, h('h2', {}, 'Sales my consents covered'));
  const request = h('div', {});

  // Join a hospital: the patient signs, the hospital submits.
  const hospitalSelect = h('select', { 'data-testid': 'enrol-hospital' },
    ctx.hospitals.map((x) => h('option', { value: x.account }, x.name)));
  hospitals.append(hospitalList, h('h3', {}, 'Join a hospital'),
    h('p', {}, 'You sign a request; the hospital submits it and pays its fee. You never need tokens.'),
    h('div', { class: 'row' }, hospitalSelect, h('button', {
      'data-testid': 'sign-enrolment',
      onclick: async () => {
        if (!me) return;
        request.replaceChildren('Signing…');
        try {
          const req = await ctx.chain.signEnrolment(me.signer, hospitalSelect.value);
          const text = JSON.stringify(req, null, 1);
          request.replaceChildren(
            h('p', {}, `Give this request to ${ctx.nameOf(req.hospital)} (valid until block ${req.validUntil}, ${blocksInWords(req.validUntil - ctx.finalized, ctx.blockTimeMs)}). It enrols you with `,
              h('code', {}, 'medledger hospital enrol'), ' or on its Hospital page.'),
            h('textarea', { 'data-testid': 'enrol-request', readonly: true, rows: 6 }, text),
            h('button', { onclick: () => navigator.clipboard?.writeText(text) }, 'Copy'));
        } catch (e) {
          request.replaceChildren(h('p', { class: 'error' }, (e as Error).message));
        }
      },
    }, 'Sign an enrolment request')), request);

  // Grant a consent, in words.
  const purpose = h('select', { 'data-testid': 'grant-purpose' }, PURPOSES.map((p) => h('option', { value: p.value }, p.words)));
  const grantee = h('select', { 'data-testid': 'grant-grantee' }, h('option', { value: 'anyone' }, 'any buyer'), h('option', { value: 'account' }, 'only this buyer:'));
  const granteeAddress = h('input', { placeholder: 'buyer address (5…)', size: 50, 'data-testid': 'grant-buyer' });
  const scope = h('select', { 'data-testid': 'grant-scope' }, h('option', { value: 'all' }, 'all my records'));
  const category = h('input', { list: 'categories', placeholder: 'e.g. condition', size: 24, 'data-testid': 'grant-category' });
  const categories = h('datalist', { id: 'categories' }, COMMON_CATEGORIES.map((code) => h('option', { value: code })));
  const expiry = h('select', { 'data-testid': 'grant-expiry' }, EXPIRY.map(([words], i) => h('option', { value: i }, words)));
  const grantForm = h('form', {
    class: 'sentence', onsubmit: async (e: Event) => {
      e.preventDefault();
      let s: Scope;
      if (scope.value.startsWith('category:')) {
        // The chain gets a tag salted with the patient's secret at that hospital, never the code.
        const code = category.value.trim().toLowerCase();
        if (!code) { tx.replaceChildren(h('p', { class: 'error' }, 'Name the category, e.g. condition.')); return; }
        try {
          s = { kind: 'category', tag: categoryTag(await saltAt(ctx, scope.value.slice('category:'.length)), code), code };
        } catch (err) {
          tx.replaceChildren(h('p', { class: 'error' }, (err as Error).message));
          return;
        }
      } else {
        s = scope.value === 'all' ? { kind: 'all' } : { kind: 'record', record: scope.value };
      }
      const g: Grantee = grantee.value === 'anyone' ? { kind: 'anyone' } : { kind: 'account', account: granteeAddress.value.trim() };
      const seconds = EXPIRY[Number(expiry.value)][1];
      const expiresAt = seconds === undefined ? undefined : ctx.finalized + Math.ceil(seconds * 1000 / ctx.blockTimeMs);
      const p = purpose.value as Purpose;
      confirmTx(tx, ctx.chain, ctx.chain.grantConsent(s, p, g, expiresAt), me?.signer, [
        `Let ${g.kind === 'anyone' ? 'any buyer' : g.account} use ${scopeWords(s)} for ${purposeWords(p)}, ${EXPIRY[Number(expiry.value)][0]}${expiresAt ? ` (block ${expiresAt})` : ''}.`,
      ], () => page.refresh());
    },
  }, 'Let ', grantee, granteeAddress, ' use ', scope, category, categories, ' for ', purpose, ' ', expiry, ' ',
  h('button', { type: 'submit', class: 'primary', 'data-testid': 'grant' }, 'Grant consent'));

  // Only the inputs the chosen words need.
  const showInputs = () => {
    granteeAddress.hidden = grantee.value !== 'account';
    category.hidden = !scope.value.startsWith('category:');
  };
  grantee.addEventListener('change', showInputs);
  scope.addEventListener('change', showInputs);
  showInputs();

  el.append(h('h2', { class: 'page' }, 'Patient'), you, tx, hospitals,
    h('section', {}, h('h2', {}, 'My consents'), consents, h('h3', {}, 'Give a consent'), grantForm),
    earnings, used);

  // The payout claims fetched from each hospital's node (a signed request, so only when the
  // patient asks); checked against the chain again at every refresh.
  const payoutList = h('div', { 'data-testid': 'payouts' });
  let payouts: { hospital: string; claims?: PayoutClaim[]; error?: string }[] | undefined;

  async function lookUpPayouts() {
    if (!me) return;
    payoutList.replaceChildren('Asking your hospitals…');
    const [enrolments, records] = await Promise.all([ctx.chain.enrolmentsOf(me.address), ctx.chain.recordsOf(me.address)]);
    // A patient who left a hospital still earns from the records it keeps there.
    const hospitals = [...new Set([...enrolments.map((e) => e.hospital), ...records.map((r) => r.custodian)])];
    payouts = await Promise.all(hospitals.map(async (hospital) => {
      const endpoint = ctx.hospitals.find((x) => x.account === hospital)?.endpoint;
      if (!endpoint) return { hospital, error: `${ctx.nameOf(hospital)} publishes no delivery endpoint.` };
      try {
        return { hospital, claims: await fetchPayouts(me.signer, endpoint) };
      } catch (e) {
        return { hospital, error: (e as Error).message };
      }
    }));
    await showPayouts();
  }

  async function showPayouts() {
    if (!me || !payouts) return;
    if (payouts.length === 0) { payoutList.replaceChildren(h('p', { class: 'empty' }, 'You have no hospital to be paid by.')); return; }
    const rows = await Promise.all(payouts.map(async ({ hospital, claims, error }) => {
      if (error) return [[ctx.nameOf(hospital), '—', '—', h('span', { class: 'error' }, error)]];
      if (claims!.length === 0) return [[ctx.nameOf(hospital), '—', '—', 'no payout for you yet (a hospital pays after the end of each epoch in which it sold your records)']];
      return Promise.all(claims!.map(async (c) => {
        const check = await ctx.chain.verifyClaim(c);
        const state = 'payable' in check ? h('span', {}, `${formatMed(check.payable)} to claim `, h('button', {
          class: 'primary', 'data-testid': `claim-${c.custodian}-${c.epoch}`,
          onclick: () => confirmTx(tx, ctx.chain, ctx.chain.claim(c, me.address), me.signer, [
            `${formatMed(check.payable)} from ${ctx.nameOf(hospital)}: the ${formatMed(c.amount)} your records earned there up to epoch ${c.epoch}, less what you claimed before.`,
          ], () => page.refresh()),
        }, 'Claim'))
          : check.refused.code === 'Revenue.NothingToClaim' ? 'claimed'
          : check.refused.code === 'Revenue.NoSuchRoot' ? "the hospital's payout root is not on chain yet: look again in a few blocks"
          : h('span', { class: 'error' }, check.refused.message);
        return [ctx.nameOf(hospital), `epoch ${c.epoch}`, formatMed(c.amount), h('span', { 'data-testid': `payout-state-${c.custodian}-${c.epoch}` }, state)];
      }));
    }));
    payoutList.replaceChildren(table(['Hospital', 'Up to', 'Earned there', ''], rows.flat(), '', 'payout-claims'));
  }

  const page: Page = {
    async refresh() {
      if (!me) { you.replaceChildren(h('p', {}, 'Choose an account above, or make a new patient key.')); return; }
      const [balance, enrolments, list, money, records, orders] = await Promise.all([
        ctx.chain.freeBalance(me.address), ctx.chain.enrolmentsOf(me.address), ctx.chain.consentsOf(me.address),
        ctx.chain.earnings(me.address), ctx.chain.recordsOf(me.address), ctx.chain.orders()]);
      you.replaceChildren(h('p', {}, 'Acting as ', h('code', { 'data-testid': 'patient-address' }, me.address), ` · balance `,
        h('span', { 'data-testid': 'patient-balance' }, formatMed(balance)),
        balance === 0n ? ' — you hold no tokens; consent calls are free.' : ''));

      hospitalList.replaceChildren(table(['Hospital', 'Since', ''], enrolments.map((e) => [
        ctx.nameOf(e.hospital), `block ${e.since}`,
        h('button', { onclick: () => confirmTx(tx, ctx.chain, ctx.chain.endEnrolment(me.address, e.hospital, me.address), me.signer,
          [`Leave ${ctx.nameOf(e.hospital)}. Records already registered stay yours.`], () => page.refresh()) }, 'End enrolment'),
      ]), 'You are not enrolled with any hospital yet.', 'enrolments'));

      // The scope choices: all records, each record, a category at each of my hospitals.
      const chosen = scope.value;
      scope.replaceChildren(h('option', { value: 'all' }, 'all my records'),
        ...records.map((r) => h('option', { value: r.id }, `my record ${r.id.slice(0, 10)}… at ${ctx.nameOf(r.custodian)}`)),
        ...enrolments.map((e) => h('option', { value: `category:${e.hospital}` }, `my records at ${ctx.nameOf(e.hospital)} of the category`)));
      scope.value = [...scope.options].some((o) => o.value === chosen) ? chosen : 'all';
      showInputs();

      // Development keys sign silently: name their category consents with their salts. A
      // wallet's patient sees names for the salts it fetched when granting.
      if ('pair' in me.signer && list.some((c) => c.scope.kind === 'category')) {
        await Promise.all(enrolments.map((e) => saltAt(ctx, e.hospital).catch(() => undefined)));
      }
      consents.replaceChildren(table(['#', 'Who', 'May use', 'For', 'Given', 'Until', 'Status', ''],
        [...list].reverse().map((c) => [c.id, granteeWords(c.grantee, ctx), scopeWords(c.scope, me.address), purposeWords(c.purpose),
          `block ${c.grantedAt}`, c.expiresAt ? whenBlock(c.expiresAt, ctx.finalized, ctx.blockTimeMs) : 'until revoked',
          h('span', { 'data-testid': `consent-status-${c.id}` }, status(c, ctx.finalized)),
          status(c, ctx.finalized) === 'in force' && h('button', {
            'data-testid': `revoke-${c.id}`,
            onclick: () => confirmTx(tx, ctx.chain, ctx.chain.revokeConsent(c.id), me.signer,
              ['From the next block on no new sale may use it; sales judged earlier stand.'], () => page.refresh()),
          }, 'Revoke')]),
        'You have given no consent.', 'consents'));

      // Claimed (ClaimedFrom) is paid out at once unless the account cannot take it yet (below
      // the minimum balance); the chain keeps that part for it (RevenueApi.claimable).
      earnings.replaceChildren(h('h2', {}, 'What I have earned'),
        h('p', { 'data-testid': 'earnings' }, `Claimed so far: ${formatMed(money.claimed)}`,
          money.claimable > 0n ? ` · of which ${formatMed(money.claimable)} is kept for you until it reaches your account's minimum balance` : ''),
        h('p', {}, 'Each hospital keeps the book of what your records earned in its sales and publishes its total on chain after each epoch. You sign a request for your part; claiming it is free.'),
        h('button', { 'data-testid': 'fetch-payouts', onclick: lookUpPayouts }, 'Look up my payouts'), payoutList);
      await showPayouts();

      used.replaceChildren(h('h2', {}, 'Sales my consents covered'), coveredSales(list, orders, records, enrolments.map((e) => e.hospital), ctx));
    },
  };
  return page;
}

function granteeWords(g: Grantee, ctx: Ctx): string {
  return g.kind === 'anyone' ? 'any buyer' : g.kind === 'class' ? `buyers of class ${g.class}` : ctx.nameOf(g.account);
}

function status(c: Consent, now: number): string {
  if (c.revokedAt !== undefined) return `revoked at block ${c.revokedAt}`;
  if (c.expiresAt !== undefined && c.expiresAt <= now) return `expired at block ${c.expiresAt}`;
  return 'in force';
}

/** Delivered sales at my hospitals that one of my consents covered when they were placed
 * (purpose, buyer, time). Whether my records went in is in the hospital's delivery opening. */
function coveredSales(consents: Consent[], orders: Order[], records: { custodian: string }[], hospitals: string[], ctx: Ctx): HTMLElement {
  const mine = new Set([...hospitals, ...records.map((r) => r.custodian)]);
  const rows = orders.filter((o) => o.receipt && mine.has(o.custodian)).flatMap((o) => consents
    .filter((c) => c.purpose === o.purpose && c.grantedAt <= o.placedAt
      && (c.revokedAt === undefined || o.placedAt < c.revokedAt) && (c.expiresAt === undefined || o.placedAt < c.expiresAt)
      && (c.grantee.kind !== 'account' || c.grantee.account === o.buyer))
    .map((c) => [`consent #${c.id}`, `order ${o.id}`, ctx.nameOf(o.custodian), ctx.nameOf(o.buyer), purposeWords(o.purpose),
      `block ${o.placedAt}`, `${o.receipt!.recordCount} records delivered`]));
  return h('div', {}, table(['Consent', 'Sale', 'Hospital', 'Buyer', 'For', 'Placed', 'Delivery'], rows,
    'None of your consents has covered a delivered sale yet.', 'covered-sales'),
  h('p', { class: 'hint' }, 'A sale is judged at its own block. Which records went into a delivery is in the hospital\'s delivery opening, which a regulator can audit.'));
}
