// Hospital: submit patients' signed enrolment requests, and vote on the consortium's open
// proposals (each with its action decoded).
import type { EnrolmentRequest } from '../chain';
import type { Ctx, Page } from '../main';
import { confirmTx, h, table, whenBlock } from '../ui';

export function hospitalPage(el: HTMLElement, ctx: Ctx): Page {
  const me = ctx.account;
  const tx = h('div', { 'data-testid': 'hospital-tx' });
  const proposals = h('div', {});
  const membership = h('p', {});
  const pasted = h('textarea', { 'data-testid': 'enrol-paste', rows: 6, cols: 70, placeholder: '{"hospital": "5…", "patient": "5…", "validUntil": …, "signature": "0x…"}' });
  const enrolError = h('p', { class: 'error' });

  el.append(h('h2', { class: 'page' }, 'Hospital'), membership, tx,
    h('section', {}, h('h2', {}, 'Enrol a patient'),
      h('p', {}, 'Paste the request the patient signed on their Patient page (or with ', h('code', {}, 'medledger patient enrol'), '). Your hospital pays the fee.'),
      pasted, h('div', { class: 'row' }, h('button', {
        class: 'primary', 'data-testid': 'enrol-submit',
        onclick: () => {
          enrolError.textContent = '';
          let request: EnrolmentRequest;
          try {
            request = JSON.parse(pasted.value);
            if (!request.patient || !request.signature || !request.validUntil) throw new Error('missing fields');
          } catch (e) {
            enrolError.textContent = `That is not an enrolment request (${(e as Error).message}).`;
            return;
          }
          if (me && request.hospital !== me.address) {
            enrolError.textContent = `This request is for ${ctx.nameOf(request.hospital)}, not for the account you act as.`;
            return;
          }
          confirmTx(tx, ctx.chain, ctx.chain.enrol(request), me?.signer,
            [`Patient ${request.patient}, request valid until block ${request.validUntil}.`], () => page.refresh());
        },
      }, 'Enrol')), enrolError),
    h('section', {}, h('h2', {}, 'Open proposals'), proposals));

  const page: Page = {
    async refresh() {
      const [members, open] = await Promise.all([ctx.chain.members(), ctx.chain.proposals()]);
      const isMember = !!me && members.includes(me.address);
      membership.textContent = me
        ? `${ctx.nameOf(me.address)} is ${isMember ? 'a member of the consortium' : 'not a member: it cannot vote or enrol patients'}. Members: ${members.map((m) => ctx.nameOf(m)).join(', ')}.`
        : 'Choose an account above.';
      proposals.replaceChildren(table(['#', 'Proposed by', 'Action', 'Ayes', 'Nays', 'Open until', ''],
        open.map((p) => {
          const voted = !!me && (p.ayes.includes(me.address) || p.nays.includes(me.address));
          const vote = (aye: boolean) => async () => confirmTx(tx, ctx.chain, await ctx.chain.vote(p.index, aye), me?.signer,
            [`Proposal ${p.index}: ${p.action}`], () => page.refresh());
          return [p.index, p.proposer ? ctx.nameOf(p.proposer) : 'the escrow (a dispute)',
            h('code', { class: 'action' }, p.action),
            p.ayes.map((a) => ctx.nameOf(a)).join(', ') || '—', p.nays.map((a) => ctx.nameOf(a)).join(', ') || '—',
            whenBlock(p.expiresAt, ctx.finalized, ctx.blockTimeMs),
            isMember && !voted ? h('span', {},
              h('button', { 'data-testid': `aye-${p.index}`, onclick: vote(true) }, 'Aye'),
              h('button', { 'data-testid': `nay-${p.index}`, onclick: vote(false) }, 'Nay'))
              : voted ? 'you voted' : ''];
        }), 'No proposal is open.', 'proposals'),
      h('p', { class: 'hint' }, `Two thirds of the members decide, rounded up. New proposals: `, h('code', {}, 'medledger hospital propose …'), ` or polkadot.js Apps (`, h('code', {}, 'consortium.propose'), ').'));
    },
  };
  return page;
}
