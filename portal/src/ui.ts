// Small DOM helpers and the one transaction panel every page uses: it shows what will be
// signed and its fee, then each step up to finality, or the chain's refusal as a sentence.
import { Chain, ChainError, formatMed, type Signer, type Tx, type TxStatus } from './chain';

type Child = Node | string | number | null | undefined | false;
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K, attrs: Record<string, any> = {}, ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export const short = (address: string) => `${address.slice(0, 6)}…${address.slice(-6)}`;

export function table(headers: string[], rows: Child[][], empty: string, testid?: string): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty', 'data-testid': testid }, empty);
  return h('table', { 'data-testid': testid },
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c))))));
}

/** "about 3 hours" for a number of blocks. */
export function blocksInWords(blocks: number, blockTimeMs: number): string {
  const s = Math.abs(blocks) * blockTimeMs / 1000;
  const [n, unit] = s < 90 ? [s, 'second'] : s < 5400 ? [s / 60, 'minute']
    : s < 129600 ? [s / 3600, 'hour'] : [s / 86400, 'day'];
  const r = Math.round(n);
  return `about ${r} ${unit}${r === 1 ? '' : 's'}`;
}

/** Block `target` relative to `now`, in words: "block 120 (in about 4 minutes)". */
export function whenBlock(target: number, now: number, blockTimeMs: number): string {
  if (target <= now) return `block ${target} (passed)`;
  return `block ${target} (in ${blocksInWords(target - now, blockTimeMs)})`;
}

const STEPS: Record<TxStatus['step'], string> = {
  signing: 'Signing…', submitted: 'Sent; waiting for a block…',
  'in-block': 'In a block; waiting for finality…', final: 'Final',
};

/**
 * Shows `tx` in `panel` with its fee and `details`, and a "Sign and send" button; then each
 * step until the block is final (calls `onFinal`) or the chain's refusal as a sentence.
 */
export async function confirmTx(
  panel: HTMLElement, chain: Chain, tx: Tx, signer: Signer | undefined,
  details: string[] = [], onFinal: () => void = () => {},
): Promise<void> {
  panel.replaceChildren();
  panel.className = 'tx';
  if (!signer) {
    panel.append(h('p', { class: 'error' }, 'Choose an account to act as first (top of the page).'));
    return;
  }
  const status = h('p', { class: 'status', 'data-testid': 'tx-status' });
  const feeLine = h('p', { 'data-testid': 'tx-fee' }, 'Fee: working it out…');
  const send = h('button', { class: 'primary', 'data-testid': 'tx-send', disabled: true }, 'Sign and send');
  const cancel = h('button', { onclick: () => panel.replaceChildren() }, 'Cancel');
  panel.append(h('p', {}, h('strong', {}, tx.what)), ...details.map((d) => h('p', {}, d)), feeLine,
    h('div', { class: 'row' }, send, cancel), status);
  try {
    const fee = await chain.fee(tx, signer.address);
    feeLine.textContent = fee === 0n ? 'Fee: none (free for patients)' : `Fee: ${formatMed(fee)}`;
    send.disabled = false;
  } catch (e) {
    feeLine.textContent = `Fee: unknown (${(e as Error).message})`;
    send.disabled = false;
  }
  send.addEventListener('click', async () => {
    send.disabled = true;
    cancel.remove();
    status.className = 'status pending';
    try {
      const { block } = await chain.send(tx, signer, (s) => {
        status.textContent = s.step === 'in-block' ? `${STEPS[s.step]} (block ${s.block})`
          : s.step === 'final' ? `Final in block ${s.block}` : STEPS[s.step];
      });
      status.className = 'status ok';
      status.textContent = `Final in block ${block}`;
      onFinal();
    } catch (e) {
      status.className = 'status error';
      status.textContent = e instanceof ChainError ? e.message : `Something went wrong: ${(e as Error).message ?? e}`;
    }
  });
}
