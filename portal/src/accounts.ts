// The accounts a user can act as: development keys of the local network (//Alice … and patient
// keys generated in this browser, which never hold tokens), or the accounts of the polkadot.js
// browser extension.
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady, mnemonicGenerate } from '@polkadot/util-crypto';
import type { Signer } from './chain';

export interface Account { address: string; label: string; signer: Signer }

const DEV = [
  ['//Alice', 'Alice General (hospital)'], ['//Bob', 'Bob Memorial (hospital)'],
  ['//Charlie', 'Charlie Clinic (hospital)'], ['//Dave', 'Dave Hospital (hospital)'],
  ['//Eve', 'Eve Health Authority (regulator)'], ['//Ferdie', 'Ferdie (buyer)'],
];
const PATIENTS_KEY = 'medledger.patients';

let keyring: Keyring | undefined;
async function ring(): Promise<Keyring> {
  if (!keyring) {
    await cryptoWaitReady();
    keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  }
  return keyring;
}

function storedPatients(): string[] {
  try { return JSON.parse(localStorage.getItem(PATIENTS_KEY) ?? '[]'); } catch { return []; }
}

/** Development accounts plus the patient keys generated in this browser (development only:
 * their mnemonics sit in localStorage). */
export async function devAccounts(): Promise<Account[]> {
  const k = await ring();
  const accounts = DEV.map(([uri, label]) => {
    const pair = k.addFromUri(uri);
    return { address: pair.address, label: `${label} ${uri}`, signer: { address: pair.address, pair } };
  });
  storedPatients().forEach((mnemonic, i) => {
    const pair = k.addFromUri(mnemonic);
    accounts.push({ address: pair.address, label: `Patient ${i + 1} (generated, no tokens)`, signer: { address: pair.address, pair } });
  });
  return accounts;
}

/** Generates a new patient key, kept in this browser; returns its address. */
export async function newPatient(): Promise<string> {
  const mnemonic = mnemonicGenerate();
  localStorage.setItem(PATIENTS_KEY, JSON.stringify([...storedPatients(), mnemonic]));
  return (await ring()).addFromUri(mnemonic).address;
}

/** The accounts of the polkadot.js extension (or another injected wallet). */
export async function extensionAccounts(): Promise<Account[]> {
  const { web3Enable, web3Accounts, web3FromSource } = await import('@polkadot/extension-dapp');
  const extensions = await web3Enable('MedLedger portal');
  if (extensions.length === 0) {
    throw new Error('No wallet extension answered: install the polkadot.js extension and allow this site.');
  }
  const accounts = await web3Accounts({ ss58Format: 42 });
  return Promise.all(accounts.map(async (a) => {
    const injector = await web3FromSource(a.meta.source);
    return {
      address: a.address, label: `${a.meta.name ?? a.address} (${a.meta.source})`,
      signer: { address: a.address, injected: injector.signer },
    };
  }));
}
