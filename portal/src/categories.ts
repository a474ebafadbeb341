// Category consents without showing the category: the chain holds only a tag, BLAKE2b-256 over
// "medledger:category:v2" ‖ salt ‖ code, where the salt is the patient's secret at that hospital.
// The hospital's node hands each patient its salt (GET /category-salt, signed by the patient,
// the same format the `medledger` CLI uses: client/delivery-http). Mirrors
// client/fhir/src/consent.rs (category_tag, common_category_codes).
import { compactAddLength, stringToU8a, u8aConcat, u8aToHex, hexToU8a } from '@polkadot/util';
import { blake2AsU8a, decodeAddress } from '@polkadot/util-crypto';
import { ChainError, signBytes, type Signer } from './chain';

const TAG_PREFIX = 'medledger:category:v2';
const SALT_REQUEST_PREFIX = 'medledger:category-salt-request:v1';

/** Category codes every collector assigns: the collected resource types and FHIR R4's own
 * observation and condition categories (client/fhir: common_category_codes). */
export const COMMON_CATEGORIES: string[] = [
  'patient', 'allergyintolerance', 'careplan', 'careteam', 'condition', 'device', 'diagnosticreport',
  'documentreference', 'encounter', 'familymemberhistory', 'goal', 'immunization',
  'medicationadministration', 'medicationdispense', 'medicationrequest', 'medicationstatement',
  'observation', 'procedure', 'servicerequest', 'specimen',
  'observation:laboratory', 'observation:vital-signs', 'observation:imaging', 'observation:social-history',
  'observation:survey', 'observation:exam', 'observation:therapy', 'observation:activity',
  'observation:procedure', 'condition:problem-list-item', 'condition:encounter-diagnosis',
  'condition:health-concern',
];

/** The tag of `code` under `salt` (32 bytes), as 0x-hex. */
export function categoryTag(salt: Uint8Array, code: string): string {
  return u8aToHex(blake2AsU8a(u8aConcat(stringToU8a(TAG_PREFIX), salt, stringToU8a(code)), 256));
}

/** The common category whose tag under `salt` is `tag`, if any. */
export function categoryOfTag(salt: Uint8Array, tag: string): string | undefined {
  return COMMON_CATEGORIES.find((code) => categoryTag(salt, code) === tag);
}

function u64Le(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value), true);
  return bytes;
}

/** The patient's salt at the hospital whose node serves `endpoint`; the patient signs the request
 * (a wallet asks first). */
export async function fetchCategorySalt(patient: Signer, endpoint: string): Promise<Uint8Array> {
  const base = endpoint.trim().replace(/\/+$/, '');
  const timestamp = Math.floor(Date.now() / 1000);
  const message = u8aConcat(stringToU8a(SALT_REQUEST_PREFIX), compactAddLength(stringToU8a(base)), u64Le(timestamp));
  const signature = await signBytes(patient, message);
  const account = u8aToHex(decodeAddress(patient.address));
  let response: Response;
  try {
    response = await fetch(`${base}/category-salt`, {
      headers: { authorization: `MedLedger-Sr25519 account=${account}, timestamp=${timestamp}, signature=${signature}` },
    });
  } catch (e) {
    throw new ChainError(`The hospital's node at ${base} cannot be reached (${(e as Error).message}).`);
  }
  if (!response.ok) throw new ChainError(`The hospital's node refused: ${(await response.text()).trim()}`);
  const answer = await response.json();
  const salt = hexToU8a(answer.salt);
  if (answer.owner?.toLowerCase() !== account.toLowerCase() || salt.length !== 32) {
    throw new ChainError("The hospital's node answered with a salt that is not yours.");
  }
  return salt;
}
