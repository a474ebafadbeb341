// Buyer: the marketplace, my delivery key, buying at the version shown, my orders with their
// state and deadlines, confirm / dispute / refund, and how to download with the CLI (the
// token that opens the data stays on the buyer's machine).
import { formatMed, purposeWords, type Listing, type Order } from '../chain';
import type { Ctx, Page } from '../main';
import { confirmTx, h, table, whenBlock } from '../ui';

function priceWords(l: Listing): string {
  return l.price.flat !== undefined ? `${formatMed(l.price.flat)} flat`
    : `${formatMed(l.price.perRecord!)} per record`;
}

export function buyerPage(el: HTMLElement, ctx: Ctx): Page {
  const me = ctx.account;
  const tx = h('div', { 'data-testid': 'buyer-tx' });
  const key = h('section', {});
  const market = h('div', {});
  const orders = h('div', {});
  el.append(h('h2', { class: 'page' }, 'Buyer'), key, tx,
    h('section', {}, h('h2', {}, 'Open listings'), market),
    h('section', {}, h('h2', {}, 'My orders'), orders));

  const stateWords = (o: Order): string => {
    switch (o.state) {
      case 'Paid': return `paid, awaiting delivery by ${whenBlock(o.deadline, ctx.finalized, ctx.blockTimeMs)}`;
      case 'Delivered': return `delivered; released to the hospital at ${whenBlock(o.stateBlock!, ctx.finalized, ctx.blockTimeMs)} unless you dispute`;
      case 'Disputed': return `disputed; the members vote until ${whenBlock(o.stateBlock!, ctx.finalized, ctx.blockTimeMs)}`;
      case 'Released': return 'released to the hospital';
      case 'Refunded': return 'refunded to you';
      default: return `dispute resolved: ${o.outcome}`;
    }
  };

  const page: Page = {
    async refresh() {
      if (!me) { key.replaceChildren('Choose an account above.'); return; }
      const [deliveryKey, listings, all, balance] = await Promise.all([
        ctx.chain.deliveryKey(me.address), ctx.chain.listings(), ctx.chain.orders(), ctx.chain.freeBalance(me.address)]);
      key.replaceChildren(h('p', {}, `Acting as ${ctx.nameOf(me.address)} · balance ${formatMed(balance)}`),
        h('p', { 'data-testid': 'delivery-key' }, deliveryKey
          ? `Delivery key registered: ${deliveryKey.slice(0, 18)}… Data sold to you is sealed to it.`
          : 'No delivery key registered: hospitals cannot deliver to you. On your machine, with your hardware token: ',
        !deliveryKey && h('code', {}, 'medledger token init && medledger buyer register-key')));

      market.replaceChildren(table(['#', 'Dataset', 'Hospital', 'For', 'Records (most)', 'Price', 'You pay at most', 'Version', ''],
        listings.filter((l) => l.active).map((l) => [l.id, l.summary + (l.categories.length ? ` (${l.categories.join(', ')})` : ''),
          ctx.nameOf(l.custodian), purposeWords(l.purpose), l.maxRecords, priceWords(l), formatMed(l.maxCost), l.version,
          h('button', {
            'data-testid': `buy-${l.id}`,
            onclick: () => confirmTx(tx, ctx.chain, ctx.chain.buy(l), me.signer, [
              `${l.summary} from ${ctx.nameOf(l.custodian)}, for ${purposeWords(l.purpose)}.`,
              `Price: ${priceWords(l)}, at most ${l.maxRecords} records: ${formatMed(l.maxCost)} is held in escrow; what is not delivered comes back.`,
              `You buy version ${l.version} of the listing: if the hospital changes it before your purchase lands, the chain refuses it.`,
              deliveryKey ? 'Delivered to your registered delivery key.' : 'Warning: you have no delivery key; the hospital will decline.',
            ], () => page.refresh()),
          }, 'Buy')]), 'No open listing.', 'listings'));

      const mine = all.filter((o) => o.buyer === me.address).reverse();
      orders.replaceChildren(table(['#', 'Listing', 'Hospital', 'Held', 'State', 'Receipt', ''],
        mine.map((o) => [o.id, `${o.listing} v${o.listingVersion}`, ctx.nameOf(o.custodian), formatMed(o.price),
          h('span', { 'data-testid': `order-state-${o.id}` }, stateWords(o)),
          o.receipt ? `${o.receipt.recordCount} records, ${o.receipt.size} bytes, digest ${o.receipt.digest.slice(0, 12)}…` : '—',
          actions(o)]), 'You have no orders.', 'orders'),
      h('details', {}, h('summary', {}, 'Downloading a delivery'),
        h('p', {}, 'The data is sealed to the key on your token; download and open it on your own machine:'),
        h('pre', {}, `export MEDLEDGER_ACCOUNT_SECRET='<your mnemonic>'   # or type it at the prompt
medledger buyer fetch ORDER order.sealed    # checks the chain's digest
medledger open order.sealed order.tar       # needs your token and PIN
tar xf order.tar                            # delivery/*.ndjson, manifest.json`)));
    },
  };

  function actions(o: Order): HTMLElement | string {
    const act = (label: string, make: () => any, words: string) =>
      h('button', { 'data-testid': `${label.toLowerCase()}-${o.id}`, onclick: () => confirmTx(tx, ctx.chain, make(), me?.signer, [words], () => page.refresh()) }, label);
    if (o.state === 'Delivered') {
      return h('span', {},
        act('Confirm', () => ctx.chain.confirm(o.id), 'The data is as listed: release the price to the hospital now.'),
        act('Dispute', () => ctx.chain.dispute(o.id), 'The data is not as listed: the members vote; you bond the dispute bond.'));
    }
    if (o.state === 'Paid' && o.deadline <= ctx.finalized) {
      return act('Refund', () => ctx.chain.refund(o.id), 'The delivery deadline passed: take the held price back.');
    }
    return '';
  }
  return page;
}
