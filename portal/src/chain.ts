// Everything that depends on the runtime's exact shape lives here: call names and their
// argument encoding, storage and runtime-API queries, event decoding, which calls are free for
// patients. The pages see only the plain types below. When the runtime changes, fix this file
// (compare client/chain/src/runtime.rs, the Rust client's equivalent).
import { ApiPromise, WsProvider } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { Signer as InjectedSigner } from '@polkadot/api/types';
import type { KeyringPair } from '@polkadot/keyring/types';
import { u8aToHex, u8aWrapBytes, hexToU8a } from '@polkadot/util';
import { decodeAddress } from '@polkadot/util-crypto';
import type { PayoutClaim } from './owner';

export type Purpose = 'Research' | 'PublicHealth' | 'Commercial' | 'QualityImprovement' | 'Education';

/** The purposes in words, for forms and tables. */
export const PURPOSES: { value: Purpose; words: string }[] = [
  { value: 'Research', words: 'medical research' },
  { value: 'PublicHealth', words: 'public health' },
  { value: 'Commercial', words: 'commercial use' },
  { value: 'QualityImprovement', words: 'improving quality of care' },
  { value: 'Education', words: 'education and training' },
];
export const purposeWords = (p: string) => PURPOSES.find((x) => x.value === p)?.words ?? p;

/** MED has 12 decimals. */
export const UNIT = 10n ** 12n;
export function formatMed(amount: bigint): string {
  const whole = amount / UNIT;
  const frac = (amount % UNIT).toString().padStart(12, '0').replace(/0+$/, '');
  return `${whole}${frac ? '.' + frac : ''} MED`;
}

export interface Hospital { account: string; name: string; endpoint: string }
export interface Enrolment { hospital: string; since: number }
/** A category scope names its category by a salted tag only (see categories.ts); `code` is
 * known to the patient's own page, never to the chain. */
export type Scope = { kind: 'all' } | { kind: 'record'; record: string } | { kind: 'category'; tag: string; code?: string };
export type Grantee = { kind: 'anyone' } | { kind: 'class'; class: number } | { kind: 'account'; account: string };
export interface Consent {
  id: number; scope: Scope; purpose: Purpose; grantee: Grantee;
  grantedAt: number; expiresAt?: number; revokedAt?: number;
}
export interface Listing {
  id: number; custodian: string; version: number; active: boolean; summary: string;
  categories: string[]; purpose: Purpose; price: { perRecord?: bigint; flat?: bigint };
  maxRecords: number; maxCost: bigint;
}
export type OrderStateName = 'Paid' | 'Delivered' | 'Disputed' | 'Released' | 'Refunded' | 'Resolved';
export interface Order {
  id: number; buyer: string; custodian: string; listing: number; listingVersion: number;
  purpose: Purpose; placedAt: number; deadline: number; price: bigint;
  state: OrderStateName; stateBlock?: number; outcome?: string;
  receipt?: { digest: string; size: number; recordCount: number; receiptBlock: number };
}
export interface Proposal {
  index: number; proposer?: string; action: string; ayes: string[]; nays: string[]; expiresAt: number;
}
/** A signed enrolment request: the patient signs, the hospital submits it. */
export interface EnrolmentRequest { hospital: string; patient: string; validUntil: number; signature: string }

/** What an audited event means for the regulator's dashboard. */
export type AuditKind = 'consent-granted' | 'consent-revoked' | 'enrolled' | 'sale' | 'delivery'
  | 'declined' | 'dispute' | 'released' | 'claimed' | 'other';

/** One event of the pallets a regulator follows. */
export interface AuditEvent {
  block: number; pallet: string; name: string; fields: Record<string, unknown>; kind: AuditKind;
  /** The hospital, where the event names it (a page maps `order` to the hospital otherwise). */
  hospital?: string;
  order?: number;
  /** Money moved: a sale's held price, a release's share for patients, a claim's amount. */
  amount?: bigint;
  /** Records delivered. */
  records?: number;
}

/** Event → kind, and which of its fields are the amount and the record count. */
const AUDIT_KINDS: Record<string, [AuditKind, string?, string?]> = {
  'Consent.ConsentGranted': ['consent-granted'], 'Consent.ConsentRevoked': ['consent-revoked'],
  'Ownership.Enrolled': ['enrolled'], 'Escrow.OrderPlaced': ['sale', 'price_held'],
  'Escrow.ReceiptSubmitted': ['delivery', 'price', 'record_count'], 'Escrow.DeliveryDeclined': ['declined'],
  'Escrow.DisputeOpened': ['dispute'], 'Revenue.Released': ['released', 'owners_pool'],
  'Revenue.Claimed': ['claimed', 'amount'],
};

/** Who signs: a development key, or an account held by the polkadot.js extension. */
export type Signer =
  | { address: string; pair: KeyringPair }
  | { address: string; injected: InjectedSigner };

export type TxStatus =
  | { step: 'signing' } | { step: 'submitted' }
  | { step: 'in-block'; block: number } | { step: 'final'; block: number };

/** A refused transaction, explained as the runtime's documentation of its error puts it. */
/** A signature over `<Bytes>` ‖ message ‖ `</Bytes>`, as wallets sign raw bytes (they wrap them
 * themselves); the chain and the hospitals' nodes accept that form. */
export async function signBytes(signer: Signer, message: Uint8Array): Promise<string> {
  if ('pair' in signer) return u8aToHex(signer.pair.sign(u8aWrapBytes(message)));
  if (!signer.injected.signRaw) throw new ChainError('This wallet cannot sign raw messages.');
  const { signature } = await signer.injected.signRaw({ address: signer.address, data: u8aToHex(message), type: 'bytes' });
  return signature;
}

export class ChainError extends Error {
  constructor(message: string, readonly code?: string) { super(message); }
}

/** A prepared transaction: what it is, whether patients get it free. */
export interface Tx { call: SubmittableExtrinsic<'promise'>; what: string; feeless: boolean }

const AUDITED = ['Ownership', 'Consent', 'Escrow', 'Revenue', 'Delivery', 'Consortium'];

export class Chain {
  private constructor(readonly api: ApiPromise, readonly url: string) {}

  static async connect(url: string): Promise<Chain> {
    const provider = new WsProvider(url, 2000);
    const api = await ApiPromise.create({ provider, noInitWarn: true, throwOnConnect: false });
    return new Chain(api, url);
  }

  disconnect() { return this.api.disconnect(); }

  /** Milliseconds per block (Aura slot). */
  blockTimeMs(): number {
    return Number((this.api.consts.timestamp.minimumPeriod as any).toString()) * 2 || 6000;
  }

  async finalizedNumber(): Promise<number> {
    const hash = await this.api.rpc.chain.getFinalizedHead();
    return (await this.api.rpc.chain.getHeader(hash)).number.toNumber();
  }

  /** Calls `onBlock(number)` at every finalized block; returns the unsubscribe function. */
  async onFinalized(onBlock: (n: number) => void): Promise<() => void> {
    return this.api.rpc.chain.subscribeFinalizedHeads((h) => onBlock(h.number.toNumber()));
  }

  // ---- reads (at the latest block the node has; the pages refresh on finality) ----

  async freeBalance(who: string): Promise<bigint> {
    const info: any = await this.api.query.system.account(who);
    return BigInt(info.data.free.toString());
  }

  async hospitals(): Promise<Hospital[]> {
    const entries = await this.api.query.consortium.hospitals.entries();
    return entries.map(([key, value]: [any, any]) => {
      const info = value.unwrap();
      return {
        account: key.args[0].toString(),
        name: info.name.toUtf8(),
        endpoint: info.deliveryEndpoint.toUtf8(),
      };
    }).sort((a, b) => a.name.localeCompare(b.name));
  }

  async enrolmentsOf(patient: string): Promise<Enrolment[]> {
    const list: any = await this.api.call.ownershipApi.enrolmentsOf(patient);
    return list.map(([hospital, since]: any) => ({ hospital: hospital.toString(), since: since.toNumber() }));
  }

  /** The owner's registered records that are not erased, with their hospitals. */
  async recordsOf(owner: string): Promise<{ id: string; custodian: string }[]> {
    const list: any = await this.api.call.ownershipApi.recordsOf(owner);
    return list.map(([id, info]: any) => ({ id: id.toHex(), custodian: info.custodian.toString() }));
  }

  async consentsOf(owner: string): Promise<Consent[]> {
    const list: any = await this.api.call.consentApi.consentsOf(owner);
    return list.map((c: any) => ({
      id: c.id.toNumber(),
      scope: c.scope.isAll ? { kind: 'all' }
        : c.scope.isRecord ? { kind: 'record', record: c.scope.asRecord.toHex() }
        : { kind: 'category', tag: c.scope.asCategory.toHex() },
      purpose: c.purpose.type as Purpose,
      grantee: c.grantee.isAnyone ? { kind: 'anyone' }
        : c.grantee.isClass ? { kind: 'class', class: c.grantee.asClass.toNumber() }
        : { kind: 'account', account: c.grantee.asAccount.toString() },
      grantedAt: c.grantedAt.toNumber(),
      expiresAt: c.expiresAt.isSome ? c.expiresAt.unwrap().toNumber() : undefined,
      revokedAt: c.revokedAt.isSome ? c.revokedAt.unwrap().toNumber() : undefined,
    }));
  }

  /** What the owner may still claim and what it was paid so far (RevenueApi). */
  async earnings(owner: string): Promise<{ claimable: bigint; claimed: bigint }> {
    const [claimable, claimed]: any[] = await Promise.all([
      this.api.call.revenueApi.claimable(owner), this.api.call.revenueApi.claimed(owner)]);
    return { claimable: BigInt(claimable.toString()), claimed: BigInt(claimed.toString()) };
  }

  /** What `claim` would pay now (RevenueApi.verify_claim at the latest block), or why the chain
   * would refuse it, e.g. `Revenue.NothingToClaim` once claimed or `Revenue.NoSuchRoot` before
   * the hospital's root is on chain. */
  async verifyClaim(claim: PayoutClaim): Promise<{ payable: bigint } | { refused: ChainError }> {
    const answer: any = await this.api.call.revenueApi.verifyClaim(
      claim.custodian, claim.epoch, claim.index, this.leaf(claim), claim.proof);
    return answer.isOk ? { payable: BigInt(answer.asOk.toString()) } : { refused: this.explain(answer.asErr) };
  }

  private leaf(claim: PayoutClaim) {
    return { owner: claim.owner, amount: claim.amount, salt: claim.salt };
  }

  async listings(): Promise<Listing[]> {
    const entries = await this.api.query.listing.listings.entries();
    return entries.map(([key, value]: [any, any]) => {
      const l = value.unwrap();
      const model = l.pricing.model;
      const maxRecords = l.pricing.maxRecords.toNumber();
      const perRecord = model.isPerRecord ? BigInt(model.asPerRecord.toString()) : undefined;
      const flat = model.isFlat ? BigInt(model.asFlat.toString()) : undefined;
      return {
        id: key.args[0].toNumber(), custodian: l.custodian.toString(), version: l.version.toNumber(),
        active: l.active.isTrue, summary: l.description.filterSummary.toUtf8(),
        categories: l.description.categories.map((c: any) => c.toUtf8()),
        purpose: l.description.purpose.type as Purpose, price: { perRecord, flat }, maxRecords,
        maxCost: flat ?? perRecord! * BigInt(maxRecords),
      };
    }).sort((a, b) => a.id - b.id);
  }

  async orders(): Promise<Order[]> {
    const entries = await this.api.query.escrow.orders.entries();
    return entries.map(([key, value]: [any, any]) => {
      const o = value.unwrap();
      const s = o.state;
      const receipt = o.receipt.isSome ? o.receipt.unwrap() : undefined;
      return {
        id: key.args[0].toNumber(), buyer: o.buyer.toString(), custodian: o.custodian.toString(),
        listing: o.listing.toNumber(), listingVersion: o.listingVersion.toNumber(),
        purpose: o.purpose.type as Purpose, placedAt: o.placedAt.toNumber(),
        deadline: o.deadline.toNumber(), price: BigInt(o.price.toString()),
        state: s.type as OrderStateName,
        stateBlock: s.isDelivered ? s.asDelivered.releaseAt.toNumber()
          : s.isDisputed ? s.asDisputed.voteExpiresAt.toNumber() : undefined,
        outcome: s.isResolved ? s.asResolved.type : undefined,
        receipt: receipt && {
          digest: receipt.ciphertextDigest.toHex(), size: Number(receipt.size.toString()),
          recordCount: receipt.recordCount.toNumber(), receiptBlock: receipt.receiptBlock.toNumber(),
        },
      };
    }).sort((a, b) => a.id - b.id);
  }

  /** The buyer's registered delivery key (compressed P-256 point, hex), if any. */
  async deliveryKey(who: string): Promise<string | undefined> {
    const key: any = await this.api.query.delivery.deliveryKeys(who);
    return key.isSome ? key.unwrap().toHex() : undefined;
  }

  /** A SCALE-encoded runtime call as `pallet.call(args)`. */
  describeCall(encoded: string | Uint8Array): string {
    try {
      const call = this.api.createType('Call', encoded);
      if (call.section === 'system' && call.method === 'setCode') {
        return `system.setCode(${call.args[0].toU8a(true).length} bytes of code)`;
      }
      return `${call.section}.${call.method}(${JSON.stringify(call.toHuman().args)})`;
    } catch (e) {
      return `${typeof encoded === 'string' ? encoded : u8aToHex(encoded)} (undecodable: ${e})`;
    }
  }

  private describeAction(action: any): string {
    const v = action.value;
    switch (action.type) {
      case 'AddHospital': return `add hospital ${v.account} (${v.info.name.toUtf8()}, delivery endpoint ${v.info.deliveryEndpoint.toUtf8()})`;
      case 'RemoveHospital': return `remove hospital ${v.account}`;
      case 'AddRegulator': return `add regulator ${v.account} (${v.info.name.toUtf8()})`;
      case 'RemoveRegulator': return `remove regulator ${v.account}`;
      case 'DispatchAsRoot': return `as Root: ${this.describeCall(v.call.toU8a(true))}`;
      case 'DecideDispute': return `decide the dispute of order ${v.order} (aye: the buyer wins)`;
      default: return action.type;
    }
  }

  async proposals(): Promise<Proposal[]> {
    const entries = await this.api.query.consortium.proposals.entries();
    return entries.map(([key, value]: [any, any]) => {
      const p = value.unwrap();
      return {
        index: key.args[0].toNumber(),
        proposer: p.proposer.isSome ? p.proposer.unwrap().toString() : undefined,
        action: this.describeAction(p.action),
        ayes: p.ayes.map((a: any) => a.toString()), nays: p.nays.map((a: any) => a.toString()),
        expiresAt: p.expiresAt.toNumber(),
      };
    }).sort((a, b) => a.index - b.index);
  }

  async members(): Promise<string[]> {
    return ((await this.api.call.consortiumApi.members()) as any).map((a: any) => a.toString());
  }

  /** The events of the audited pallets in block `number`. */
  async auditEvents(number: number): Promise<AuditEvent[]> {
    const hash = await this.api.rpc.chain.getBlockHash(number);
    // Decoded with the current metadata (one read per block); fine while event shapes stay.
    const records: any = await this.api.query.system.events.at(hash);
    const found: AuditEvent[] = [];
    for (const { event } of records) {
      const pallet = event.section[0].toUpperCase() + event.section.slice(1);
      if (!AUDITED.includes(pallet)) continue;
      const names: string[] = event.meta.fields.map((f: any) => f.name.unwrap().toString());
      const fields: Record<string, unknown> = {};
      event.data.forEach((value: any, i: number) => { fields[names[i] ?? String(i)] = value.toPrimitive(); });
      const [kind, amountField, recordsField] = AUDIT_KINDS[`${pallet}.${event.method}`] ?? ['other'];
      found.push({
        block: number, pallet, name: event.method, fields, kind,
        hospital: fields.custodian as string | undefined,
        order: fields.order === undefined ? undefined : Number(fields.order),
        amount: amountField ? BigInt(String(fields[amountField])) : undefined,
        records: recordsField ? Number(fields[recordsField]) : undefined,
      });
    }
    return found;
  }

  // ---- transactions ----

  /** The bytes a patient signs to be enrolled (OwnershipApi.enrolment_message). */
  async enrolmentMessage(hospital: string, patient: string, validUntil: number): Promise<Uint8Array> {
    const m: any = await this.api.call.ownershipApi.enrolmentMessage(hospital, patient, validUntil);
    return m.message.toU8a(true);
  }

  /** The patient's half of enrolment: a signature over the chain's enrolment message, valid
   * for `validFor` blocks (at most an hour on chain). */
  async signEnrolment(patient: Signer, hospital: string, validFor = 600): Promise<EnrolmentRequest> {
    const validUntil = (await this.finalizedNumber()) + validFor;
    const message = await this.enrolmentMessage(hospital, patient.address, validUntil);
    return { hospital, patient: patient.address, validUntil, signature: await signBytes(patient, message) };
  }

  enrol(request: EnrolmentRequest): Tx {
    return {
      call: this.api.tx.ownership.enrol(request.patient, request.validUntil, { Sr25519: hexToU8a(request.signature) }),
      what: `enrol patient ${request.patient}`, feeless: false,
    };
  }

  /** Free when the patient signs it (and its last enrolment change is an hour old). */
  endEnrolment(patient: string, hospital: string, signer: string): Tx {
    return { call: this.api.tx.ownership.endEnrolment(patient, hospital), what: 'end enrolment', feeless: signer === patient };
  }

  grantConsent(scope: Scope, purpose: Purpose, grantee: Grantee, expiresAt?: number): Tx {
    const chainScope = scope.kind === 'all' ? { All: null }
      : scope.kind === 'record' ? { Record: scope.record } : { Category: scope.tag };
    const chainGrantee = grantee.kind === 'anyone' ? { Anyone: null }
      : grantee.kind === 'class' ? { Class: grantee.class } : { Account: grantee.account };
    return {
      call: this.api.tx.consent.grantConsent(chainScope, purpose, chainGrantee, expiresAt ?? null),
      what: 'grant consent', feeless: true,
    };
  }

  revokeConsent(id: number): Tx {
    return { call: this.api.tx.consent.revokeConsent(id), what: `revoke consent ${id}`, feeless: true };
  }

  /** Free when the owner signs it and it would succeed. */
  claim(claim: PayoutClaim, signer: string): Tx {
    return {
      call: this.api.tx.revenue.claim(claim.custodian, claim.epoch, claim.index, this.leaf(claim), claim.proof),
      what: `claim your earnings up to epoch ${claim.epoch}`, feeless: u8aToHex(decodeAddress(signer)) === claim.owner.toLowerCase(),
    };
  }

  buy(listing: Listing): Tx {
    return { call: this.api.tx.escrow.buy(listing.id, listing.maxCost, listing.version), what: `buy listing ${listing.id}`, feeless: false };
  }
  confirm(order: number): Tx { return { call: this.api.tx.escrow.confirm(order), what: `confirm order ${order}`, feeless: false }; }
  dispute(order: number): Tx { return { call: this.api.tx.escrow.dispute(order), what: `dispute order ${order}`, feeless: false }; }
  refund(order: number): Tx { return { call: this.api.tx.escrow.refund(order), what: `refund order ${order}`, feeless: false }; }

  /** A vote; for a Root call the weight bound is the call's own weight, read from the chain, so
   * that the vote reaching two thirds can execute it. */
  async vote(index: number, aye: boolean): Promise<Tx> {
    const proposal: any = (await this.api.query.consortium.proposals(index));
    let bound: any = { refTime: 0, proofSize: 0 };
    if (proposal.isSome && proposal.unwrap().action.isDispatchAsRoot) {
      const bytes = proposal.unwrap().action.asDispatchAsRoot.call.toU8a(true);
      const call = this.api.createType('Call', bytes);
      const info: any = await this.api.call.transactionPaymentCallApi.queryCallInfo(call, bytes.length);
      bound = info.weight;
    }
    return { call: this.api.tx.consortium.vote(index, aye, bound), what: `vote ${aye ? 'aye' : 'nay'} on proposal ${index}`, feeless: false };
  }

  /** The fee `signer` would pay; 0 for a call free for patients. */
  async fee(tx: Tx, signer: string): Promise<bigint> {
    if (tx.feeless) return 0n;
    const info = await tx.call.paymentInfo(signer);
    return BigInt(info.partialFee.toString());
  }

  /** Signs and submits `tx`, reporting each step, and resolves once its block is finalized;
   * a refusal or a failed dispatch rejects with a ChainError worded from the metadata. */
  send(tx: Tx, signer: Signer, onStatus: (s: TxStatus) => void): Promise<{ block: number; blockHash: string }> {
    onStatus({ step: 'signing' });
    return new Promise((resolve, reject) => {
      let unsub: (() => void) | undefined;
      let done = false;
      const finish = (outcome: () => void) => { done = true; outcome(); unsub?.(); };
      const options = 'pair' in signer ? { nonce: -1 } : { nonce: -1, signer: signer.injected };
      const account = 'pair' in signer ? signer.pair : signer.address;
      const number = async (hash: any) => (await this.api.rpc.chain.getHeader(hash)).number.toNumber();
      tx.call.signAndSend(account as any, options, async ({ status: s, dispatchError }) => {
        try {
          if (s.isReady || s.isBroadcast) onStatus({ step: 'submitted' });
          else if (s.isInvalid || s.isDropped || s.isUsurped || s.isFinalityTimeout) {
            finish(() => reject(new ChainError(`The node dropped the transaction (${s.type}).`)));
          } else if (dispatchError) {
            // Included, but its dispatch failed: nothing changed, the fee was paid.
            finish(() => reject(this.explain(dispatchError)));
          } else if (s.isInBlock) {
            onStatus({ step: 'in-block', block: await number(s.asInBlock) });
          } else if (s.isFinalized) {
            const block = await number(s.asFinalized);
            onStatus({ step: 'final', block });
            finish(() => resolve({ block, blockHash: s.asFinalized.toHex() }));
          }
        } catch (e) { finish(() => reject(e)); }
      }).then((u) => { unsub = u; if (done) u(); })
        .catch((e: any) => reject(this.explainRefusal(e)));
    });
  }

  /** A failed dispatch as a sentence: the error's documentation in the metadata. */
  explain(dispatchError: any): ChainError {
    if (dispatchError.isModule) {
      const { section, name, docs } = this.api.registry.findMetaError(dispatchError.asModule);
      const pallet = section[0].toUpperCase() + section.slice(1);
      return new ChainError(`The chain refused it: ${docs.join(' ').trim() || name} (${pallet}.${name})`, `${pallet}.${name}`);
    }
    if (dispatchError.isToken) return new ChainError(`The chain refused it: not enough funds (${dispatchError.asToken.type}).`, dispatchError.asToken.type);
    return new ChainError(`The chain refused it: ${dispatchError.type}.`, dispatchError.type);
  }

  /** A transaction the node would not take (before any block) as a sentence. */
  explainRefusal(e: any): ChainError {
    const text = String(e?.message ?? e);
    if (/Inability to pay some fees/i.test(text)) {
      return new ChainError('The node refused it: the account cannot pay the fee. A patient\'s call is free only when it would succeed (enrolled, within the rate limit, ending an enrolment at most once an hour).', 'Payment');
    }
    if (/read-only regulator observer/i.test(text)) return new ChainError('This is a regulator\'s observer node: it takes no transactions.');
    if (/Cancelled|rejected/i.test(text)) return new ChainError('Signing was cancelled.');
    return new ChainError(`The node refused it: ${text}`);
  }
}
