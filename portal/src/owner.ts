// What a hospital's node tells a data owner about itself, each asked by a request the owner
// signs (the format the `medledger` CLI uses: client/delivery-http, "Payout claims" and
// "Category salts"): its payout claims (GET /payouts) and its category salt (GET /category-salt).
// The node answers any origin (CORS) and only ever the signer's own answer.
import { compactAddLength, stringToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { decodeAddress } from '@polkadot/util-crypto';
import { ChainError, signBytes, type Signer } from './chain';

/** The signed request prefix of each path (client/delivery-http: OwnerRequest). */
const PREFIXES = {
  '/payouts': 'medledger:payout-request:v1',
  '/category-salt': 'medledger:category-salt-request:v1',
};

/** One leaf of a hospital's payout root that pays the owner: exactly `revenue.claim`'s
 * arguments. `amount` is everything earned there up to `epoch`, cumulative. */
export interface PayoutClaim {
  custodian: string; epoch: number; index: number; owner: string;
  amount: bigint; salt: string; proof: string[];
}

function u64Le(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value), true);
  return bytes;
}

/** GET `path` from the node at `endpoint`, signed by `owner` (a wallet asks first): the
 * message is prefix ‖ SCALE(endpoint bytes) ‖ SCALE(u64 Unix seconds). */
async function ownerRequest(owner: Signer, endpoint: string, path: keyof typeof PREFIXES): Promise<any> {
  const base = endpoint.trim().replace(/\/+$/, '');
  const timestamp = Math.floor(Date.now() / 1000);
  const message = u8aConcat(stringToU8a(PREFIXES[path]), compactAddLength(stringToU8a(base)), u64Le(timestamp));
  const signature = await signBytes(owner, message);
  const account = u8aToHex(decodeAddress(owner.address));
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      headers: { authorization: `MedLedger-Sr25519 account=${account}, timestamp=${timestamp}, signature=${signature}` },
    });
  } catch (e) {
    throw new ChainError(`The hospital's node at ${base} cannot be reached (${(e as Error).message}).`);
  }
  if (!response.ok) throw new ChainError(`The hospital's node refused: ${(await response.text()).trim()}`);
  return response.json();
}

/** The owner's account as the node writes it: 0x-hex of its 32 bytes. */
export const accountHex = (address: string) => u8aToHex(decodeAddress(address));

/** The owner's salt (0x-hex) at the hospital whose node serves `endpoint`, checked to be its own. */
export async function fetchSalt(owner: Signer, endpoint: string): Promise<string> {
  const answer = await ownerRequest(owner, endpoint, '/category-salt');
  if (answer.owner?.toLowerCase() !== accountHex(owner.address) || !/^0x[0-9a-fA-F]{64}$/.test(answer.salt ?? '')) {
    throw new ChainError("The hospital's node answered with a salt that is not yours.");
  }
  return answer.salt;
}

/** The owner's payout claims at the hospital whose node serves `endpoint` (none before its
 * first payout root), checked to pay this owner. */
export async function fetchPayouts(owner: Signer, endpoint: string): Promise<PayoutClaim[]> {
  const answer = await ownerRequest(owner, endpoint, '/payouts');
  if (!Array.isArray(answer)) throw new ChainError("The hospital's node answered something that is not a list of payouts.");
  return answer.map((c: any) => {
    if (c.owner?.toLowerCase() !== accountHex(owner.address)) {
      throw new ChainError("The hospital's node answered with a payout that is not yours.");
    }
    return { custodian: c.custodian, epoch: c.epoch, index: c.index, owner: c.owner, amount: BigInt(c.amount), salt: c.salt, proof: c.proof };
  });
}
