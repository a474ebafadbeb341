// The portal's frame: which node it talks to, who the user acts as, and the four pages.
//   ?rpc=ws://127.0.0.1:9944        a hospital's node (patients, buyers, hospitals)
//   ?observer=ws://127.0.0.1:9950   the regulator's observer node (the Regulator page)
//   #patient  #buyer  #regulator  #hospital
import { Chain, type Hospital } from './chain';
import { devAccounts, extensionAccounts, newPatient, type Account } from './accounts';
import { h, short } from './ui';
import { patientPage } from './pages/patient';
import { buyerPage } from './pages/buyer';
import { regulatorPage } from './pages/regulator';
import { hospitalPage } from './pages/hospital';

export interface Ctx {
  chain: Chain;
  observerUrl: string;
  account: Account | undefined;
  accounts: Account[];
  finalized: number;
  blockTimeMs: number;
  hospitals: Hospital[];
  /** A hospital's name, a known account's label, or the short address. */
  nameOf(address: string): string;
  newPatient(): Promise<void>;
}
export interface Page { refresh(): Promise<void>; unmount?(): void }
type PageFn = (el: HTMLElement, ctx: Ctx) => Page;

const PAGES: Record<string, [string, PageFn]> = {
  patient: ['Patient', patientPage], buyer: ['Buyer', buyerPage],
  regulator: ['Regulator', regulatorPage], hospital: ['Hospital', hospitalPage],
};

const params = new URLSearchParams(location.search);
const rpcUrl = params.get('rpc') ?? 'ws://127.0.0.1:9944';
const observerUrl = params.get('observer') ?? rpcUrl;
const header = document.getElementById('header')!;
const main = document.getElementById('page')!;

let mode = localStorage.getItem('medledger.mode') ?? 'development';
let current: Page | undefined;
let refreshing = false;

async function start() {
  header.replaceChildren(h('h1', {}, 'MedLedger'), h('p', {}, `Connecting to ${rpcUrl}…`));
  const chain = await Chain.connect(rpcUrl);
  const ctx: Ctx = {
    chain, observerUrl, account: undefined, accounts: [], finalized: await chain.finalizedNumber(),
    blockTimeMs: chain.blockTimeMs(), hospitals: await chain.hospitals(),
    nameOf(address) {
      return this.hospitals.find((x) => x.account === address)?.name
        ?? this.accounts.find((a) => a.address === address)?.label.replace(/ \/\/.*| \(.*/, '')
        ?? short(address);
    },
    async newPatient() {
      const address = await newPatient();
      localStorage.setItem('medledger.account', address);
      await loadAccounts(ctx);
      route(ctx);
    },
  };
  await loadAccounts(ctx);
  await chain.onFinalized(async (n) => {
    ctx.finalized = n;
    const label = document.getElementById('finalized');
    if (label) label.textContent = `finalized block ${n}`;
    if (current && !refreshing) {
      refreshing = true;
      try { await current.refresh(); } finally { refreshing = false; }
    }
  });
  window.addEventListener('hashchange', () => route(ctx));
  route(ctx);
}

async function loadAccounts(ctx: Ctx) {
  try {
    ctx.accounts = mode === 'extension' ? await extensionAccounts() : await devAccounts();
  } catch (e) {
    ctx.accounts = [];
    alert((e as Error).message);
  }
  const saved = localStorage.getItem('medledger.account');
  ctx.account = ctx.accounts.find((a) => a.address === saved) ?? ctx.accounts[0];
}

function renderHeader(ctx: Ctx, page: string) {
  const nav = h('nav', {}, Object.entries(PAGES).map(([id, [title]]) =>
    h('a', { href: `#${id}`, class: id === page ? 'active' : '' }, title)));
  const who = page === 'regulator'
    ? h('p', { class: 'who' }, `Read-only: ${observerUrl}. Nothing on this page can sign.`)
    : h('div', { class: 'who' },
      h('select', {
        'data-testid': 'mode', 'aria-label': 'accounts from',
        onchange: async (e: Event) => {
          mode = (e.target as HTMLSelectElement).value;
          localStorage.setItem('medledger.mode', mode);
          await loadAccounts(ctx);
          route(ctx);
        },
      }, ['development', 'extension'].map((m) => h('option', { value: m, selected: m === mode },
        m === 'development' ? 'Development accounts' : 'Browser extension'))),
      h('select', {
        'data-testid': 'account', 'aria-label': 'act as',
        onchange: (e: Event) => {
          localStorage.setItem('medledger.account', (e.target as HTMLSelectElement).value);
          ctx.account = ctx.accounts.find((a) => a.address === (e.target as HTMLSelectElement).value);
          route(ctx);
        },
      }, ctx.accounts.map((a) => h('option', { value: a.address, selected: a === ctx.account }, `${a.label} — ${short(a.address)}`))),
      mode === 'development' && h('button', { 'data-testid': 'new-patient', onclick: () => ctx.newPatient() }, 'New patient key'));
  header.replaceChildren(
    h('div', { class: 'top' }, h('h1', {}, 'MedLedger'), nav,
      h('span', { class: 'node' }, `${ctx.chain.url} · `, h('span', { id: 'finalized' }, `finalized block ${ctx.finalized}`))),
    who);
}

function route(ctx: Ctx) {
  const page = location.hash.slice(1) in PAGES ? location.hash.slice(1) : 'patient';
  current?.unmount?.();
  renderHeader(ctx, page);
  main.replaceChildren();
  current = PAGES[page][1](main, ctx);
  current.refresh().catch((e) => main.append(h('p', { class: 'error' }, String(e.message ?? e))));
}

start().catch((e) => {
  header.replaceChildren(h('h1', {}, 'MedLedger'), h('p', { class: 'error' }, `Cannot reach the node at ${rpcUrl}: ${e.message ?? e}`));
});
