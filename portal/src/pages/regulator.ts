// Regulator: a read-only dashboard from the observer node. It reads the audited pallets' events
// of finalized blocks (consents, enrolments, sales, deliveries, disputes, payouts), draws them
// over time, sums them per hospital and exports them as CSV. This page holds no signer.
import { Chain, formatMed, type AuditEvent, type AuditKind } from '../chain';
import type { Ctx, Page } from '../main';
import { h, table } from '../ui';

/** The series shown over time. */
const SERIES: [string, AuditKind[]][] = [
  ['Consents granted', ['consent-granted']], ['Consents revoked', ['consent-revoked']],
  ['Sales', ['sale']], ['Deliveries', ['delivery']], ['Disputes', ['dispute']],
  ['Payouts', ['released', 'claimed']],
];
const WINDOW = 1200; // blocks read back at first (an hour at 3 s)

export function regulatorPage(el: HTMLElement, ctx: Ctx): Page {
  const events: AuditEvent[] = [];
  const custodianOfOrder = new Map<number, string>();
  let chain: Chain | undefined;
  let from = 0;
  let read = 0; // last block read
  let closed = false;
  const status = h('p', { 'data-testid': 'regulator-status' }, `Connecting to ${ctx.observerUrl}…`);
  const totals = h('div', { class: 'cards' });
  const charts = h('div', { class: 'charts' });
  const perHospital = h('div', {});
  const log = h('div', {});
  const exportButton = h('button', { 'data-testid': 'export-csv', onclick: () => download(events) }, 'Export CSV');
  el.append(h('h2', { class: 'page' }, 'Regulator'), status, h('div', { class: 'row' }, exportButton), totals,
    h('section', {}, h('h2', {}, 'Over time'), charts),
    h('section', {}, h('h2', {}, 'Per hospital'), perHospital),
    h('section', {}, h('h2', {}, 'Latest events'), log));

  async function catchUp() {
    if (!chain) {
      chain = await Chain.connect(ctx.observerUrl);
      for (const o of await chain.orders()) custodianOfOrder.set(o.id, o.custodian);
    }
    const head = await chain.finalizedNumber();
    if (!read) { from = Math.max(1, head - WINDOW); read = from - 1; }
    while (read < head && !closed) {
      const batch = Array.from({ length: Math.min(25, head - read) }, (_, i) => read + 1 + i);
      // In block order: a sale names the hospital of the later events of its order.
      const found = await Promise.all(batch.map((n) => chain!.auditEvents(n)));
      for (const list of found) for (const e of list) {
        if (e.kind === 'sale' && e.order !== undefined && e.hospital) custodianOfOrder.set(e.order, e.hospital);
        e.hospital ??= e.order !== undefined ? custodianOfOrder.get(e.order) : undefined;
        events.push(e);
      }
      read = batch[batch.length - 1];
      status.textContent = `Read finalized blocks ${from}–${read} of ${head} from ${ctx.observerUrl} (read-only).`;
    }
  }

  function render() {
    const of = (kinds: AuditKind[], list = events) => list.filter((e) => kinds.includes(e.kind));
    totals.replaceChildren(...SERIES.map(([name, kinds]) =>
      h('div', { class: 'card' }, h('strong', { 'data-testid': `total-${name.toLowerCase().replace(/ /g, '-')}` }, of(kinds).length), h('span', {}, name))));
    const buckets = 12;
    const span = Math.max(1, read - from + 1);
    charts.replaceChildren(...SERIES.map(([name, kinds]) => {
      const counts = new Array(buckets).fill(0);
      for (const e of of(kinds)) counts[Math.min(buckets - 1, Math.floor((e.block - from) * buckets / span))]++;
      return barChart(name, counts, from, read);
    }));
    const names = new Map(ctx.hospitals.map((x) => [x.account, x.name]));
    const rows = [...new Set(events.map((e) => e.hospital).filter((x): x is string => !!x))].map((account) => {
      const mine = events.filter((e) => e.hospital === account);
      const sum = (kind: AuditKind) => of([kind], mine).reduce((total, e) => total + (e.amount ?? 0n), 0n);
      return [names.get(account) ?? account, of(['enrolled'], mine).length, of(['sale'], mine).length, formatMed(sum('sale')),
        of(['delivery'], mine).length, of(['delivery'], mine).reduce((total, e) => total + (e.records ?? 0), 0),
        of(['declined'], mine).length, of(['dispute'], mine).length, formatMed(sum('released'))];
    });
    perHospital.replaceChildren(table(['Hospital', 'Enrolments', 'Sales', 'Sold for', 'Deliveries', 'Records delivered', 'Declined', 'Disputes', 'To patients'],
      rows, 'No hospital activity in these blocks.', 'per-hospital'));
    log.replaceChildren(table(['Block', 'Event', 'Hospital', 'Fields'], events.slice(-50).reverse().map((e) => [
      e.block, `${e.pallet}.${e.name}`, e.hospital ? names.get(e.hospital) ?? e.hospital : '', h('code', {}, JSON.stringify(e.fields))]),
    'No audited event in these blocks.', 'events'));
  }

  return {
    async refresh() {
      try {
        await catchUp();
        render();
      } catch (e) {
        status.textContent = `Cannot read ${ctx.observerUrl}: ${(e as Error).message}`;
      }
    },
    unmount() { closed = true; chain?.disconnect(); },
  };
}

function barChart(title: string, counts: number[], from: number, to: number): HTMLElement {
  const max = Math.max(1, ...counts);
  const w = 240, hgt = 80, bw = w / counts.length;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${hgt + 14}`);
  svg.setAttribute('width', String(w));
  counts.forEach((c, i) => {
    const r = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
    const bh = c / max * hgt;
    r.setAttribute('x', String(i * bw + 1)); r.setAttribute('y', String(hgt - bh));
    r.setAttribute('width', String(bw - 2)); r.setAttribute('height', String(bh));
    r.setAttribute('class', 'bar');
    const tip = document.createElementNS('http://www.w3.org/2000/svg', 'title');
    tip.textContent = String(c);
    r.append(tip);
    svg.append(r);
  });
  const label = document.createElementNS('http://www.w3.org/2000/svg', 'text');
  label.setAttribute('x', '0'); label.setAttribute('y', String(hgt + 12));
  label.setAttribute('class', 'axis');
  label.textContent = `blocks ${from}–${to}, most ${max} per bar`;
  svg.append(label);
  return h('figure', {}, h('figcaption', {}, title), svg);
}

function download(events: AuditEvent[]) {
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const lines = ['block,pallet,event,hospital,fields', ...events.map((e) =>
    [e.block, e.pallet, e.name, e.hospital ?? '', quote(JSON.stringify(e.fields))].join(','))];
  const a = h('a', { href: URL.createObjectURL(new Blob([lines.join('\n') + '\n'], { type: 'text/csv' })), download: 'medledger-audit.csv' });
  a.click();
}
