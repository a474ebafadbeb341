// Category consents without showing the category: the chain holds only a tag, BLAKE2b-256 over
// "medledger:category:v2" ‖ salt ‖ code, where the salt is the patient's secret at that hospital.
// The hospital's node hands each patient its salt (GET /category-salt, signed by the patient:
// owner.ts). Mirrors client/fhir/src/consent.rs (category_tag, common_category_codes).
import { stringToU8a, u8aConcat, u8aToHex, hexToU8a } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import type { Signer } from './chain';
import { fetchSalt } from './owner';

const TAG_PREFIX = 'medledger:category:v2';

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

/** The patient's salt at the hospital whose node serves `endpoint` (owner.ts). */
export async function fetchCategorySalt(patient: Signer, endpoint: string): Promise<Uint8Array> {
  return hexToU8a(await fetchSalt(patient, endpoint));
}
