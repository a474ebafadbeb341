//! Nobody holds Root, and filling blocks costs something.

use frame_support::{dispatch::GetDispatchInfo, traits::GetCallMetadata};
use medledger_runtime::{Runtime, RuntimeCall, MILLI_UNIT, UNIT};

/// Root is only a passed consortium vote: no pallet that hands Root to a key (sudo) or to a
/// single account is in the runtime.
#[test]
fn no_pallet_grants_root_to_a_key() {
    let pallets = RuntimeCall::get_module_names();
    assert!(pallets.contains(&"Consortium"), "{pallets:?}");
    for admin in ["Sudo", "Root", "Admin"] {
        assert!(!pallets.contains(&admin), "{admin} in {pallets:?}");
    }
}

/// The fee of a transaction of `len` bytes that does nothing (`system.remark` of that size).
fn fee_of_len(len: u32) -> u128 {
    let call = RuntimeCall::System(frame_system::Call::remark {
        remark: vec![0; len as usize],
    });
    let info = call.get_dispatch_info();
    sp_io::TestExternalities::default()
        .execute_with(|| pallet_transaction_payment::Pallet::<Runtime>::compute_fee(len, &info, 0))
}

/// A full block's bytes cost about as much as a full block's compute (one token per MiB), so a
/// buyer cannot fill blocks with large cheap transactions; an ordinary transaction stays cheap.
#[test]
fn bytes_cost_enough_that_filling_blocks_is_not_free() {
    let mib = fee_of_len(1024 * 1024);
    assert!(mib >= UNIT, "1 MiB costs {mib}, less than one token");
    let transfer_sized = fee_of_len(150);
    assert!(
        transfer_sized < MILLI_UNIT,
        "a 150-byte transaction costs {transfer_sized}, a thousandth of a token or more"
    );
}

/// The deposit a hospital holds per enrolled patient covers the most the patient can keep on
/// chain through it, at the price per byte that consortium proposals pay: the enrolment, the
/// account the chain keeps for it, its consents and its free-call log at their bounds.
#[test]
fn an_enrolment_deposit_pays_for_all_a_patient_can_store() {
    use codec::MaxEncodedLen;
    use frame_support::traits::Get;
    use medledger_runtime::{AccountId, BlockNumber};

    type ConsentOf = pallet_consent::Consent<AccountId, BlockNumber>;
    let consents: u32 = <Runtime as pallet_consent::Config>::MaxConsentsPerOwner::get();
    let calls: u32 = <Runtime as pallet_consent::Config>::MaxCallsPerWindow::get();
    let (consents, calls) = (consents as usize, calls as usize);
    // Each map entry also stores its key: a Blake2-128 hash and the account (48 bytes).
    const KEY: usize = 48;
    let bytes = (KEY + KEY + pallet_ownership::EnrolmentOf::<Runtime>::max_encoded_len())
        + (KEY + frame_system::AccountInfo::<
            <Runtime as frame_system::Config>::Nonce,
            <Runtime as frame_system::Config>::AccountData,
        >::max_encoded_len())
        + (KEY + 4) // EnrolmentCount
        + (KEY + 5 + consents * ConsentOf::max_encoded_len())
        + (KEY + 5 + calls * BlockNumber::max_encoded_len());
    let per_byte: u128 = <Runtime as pallet_consortium::Config>::ProposalDepositPerByte::get();
    let deposit: u128 = <Runtime as pallet_ownership::Config>::EnrolmentDeposit::get();
    assert!(
        deposit >= per_byte * bytes as u128,
        "{deposit} held for up to {bytes} bytes at {per_byte} per byte"
    );
}
