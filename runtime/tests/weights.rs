//! The runtime charges measured weights (`scripts/bench-weights.sh`): every MedLedger pallet
//! its `SubstrateWeight<Runtime>`, including the work a call triggers in another pallet, and
//! no pallet, MedLedger's or FRAME's, the `()` weights, which are for mock runtimes or
//! unmeasured defaults.

use core::any::TypeId;
use frame_support::dispatch::GetDispatchInfo;
use frame_support::weights::Weight;
use medledger_runtime::{AccountId, Runtime, RuntimeCall};

fn charged(call: RuntimeCall) -> Weight {
    call.get_dispatch_info().call_weight
}

fn someone() -> AccountId {
    sp_keyring::Sr25519Keyring::Alice.to_account_id()
}

/// One call of each pallet: (pallet, weight the runtime charges, its `SubstrateWeight`).
fn charged_and_expected() -> Vec<(&'static str, Weight, Weight)> {
    use pallet_consent::WeightInfo as _;
    use pallet_consortium::WeightInfo as _;
    use pallet_delivery::WeightInfo as _;
    use pallet_escrow::WeightInfo as _;
    use pallet_listing::WeightInfo as _;
    use pallet_ownership::WeightInfo as _;
    use pallet_revenue::WeightInfo as _;
    vec![
        (
            "consortium",
            charged(RuntimeCall::Consortium(pallet_consortium::Call::close {
                index: 0,
            })),
            pallet_consortium::weights::SubstrateWeight::<Runtime>::close(),
        ),
        (
            "ownership",
            charged(RuntimeCall::Ownership(
                pallet_ownership::Call::end_enrolment {
                    owner: someone(),
                    custodian: someone(),
                },
            )),
            // Ending the last enrolment may let the account go, which ends its consents.
            pallet_ownership::weights::SubstrateWeight::<Runtime>::end_enrolment()
                + pallet_consent::weights::SubstrateWeight::<Runtime>::on_patient_released(),
        ),
        (
            "consent",
            charged(RuntimeCall::Consent(pallet_consent::Call::revoke_consent {
                consent: 0,
            })),
            pallet_consent::weights::SubstrateWeight::<Runtime>::revoke_consent(),
        ),
        (
            "listing",
            charged(RuntimeCall::Listing(pallet_listing::Call::close_listing {
                listing: 0,
            })),
            pallet_listing::weights::SubstrateWeight::<Runtime>::close_listing(),
        ),
        (
            "delivery",
            charged(RuntimeCall::Delivery(
                pallet_delivery::Call::remove_delivery_key {},
            )),
            pallet_delivery::weights::SubstrateWeight::<Runtime>::remove_delivery_key(),
        ),
        (
            "escrow",
            charged(RuntimeCall::Escrow(pallet_escrow::Call::refund {
                order: 0,
            })),
            pallet_escrow::weights::SubstrateWeight::<Runtime>::refund(),
        ),
        (
            "revenue",
            charged(RuntimeCall::Revenue(pallet_revenue::Call::pay_owed {
                who: someone(),
            })),
            pallet_revenue::weights::SubstrateWeight::<Runtime>::pay_owed(),
        ),
    ]
}

#[test]
fn every_pallet_is_charged_its_runtime_weights() {
    for (pallet, charged, runtime_weights) in charged_and_expected() {
        assert_eq!(
            charged, runtime_weights,
            "{pallet} is not charged SubstrateWeight<Runtime>"
        );
        assert!(
            charged.ref_time() > 0 && charged.proof_size() > 0,
            "{pallet} charges no time or no proof: {charged:?}"
        );
    }
}

fn is_unit<W: 'static>() -> bool {
    TypeId::of::<W>() == TypeId::of::<()>()
}

#[test]
fn no_pallet_is_wired_to_the_unit_weights() {
    // pallet_grandpa is the one exception: `()` is its only weight implementation (upstream's
    // estimates), and its calls are equivocation reports, which this runtime does not take
    // (`EquivocationReportSystem = ()`), and `note_stalled`, a Root call. pallet_aura has no
    // calls and no weights.
    let wiring = [
        (
            "frame_system",
            is_unit::<<Runtime as frame_system::Config>::SystemWeightInfo>(),
        ),
        (
            "frame_system (transaction extensions)",
            is_unit::<<Runtime as frame_system::Config>::ExtensionsWeightInfo>(),
        ),
        (
            "pallet_timestamp",
            is_unit::<<Runtime as pallet_timestamp::Config>::WeightInfo>(),
        ),
        (
            "pallet_balances",
            is_unit::<<Runtime as pallet_balances::Config>::WeightInfo>(),
        ),
        (
            "pallet_transaction_payment",
            is_unit::<<Runtime as pallet_transaction_payment::Config>::WeightInfo>(),
        ),
        (
            "pallet_session",
            is_unit::<<Runtime as pallet_session::Config>::WeightInfo>(),
        ),
        (
            "pallet_consortium",
            is_unit::<<Runtime as pallet_consortium::Config>::WeightInfo>(),
        ),
        (
            "pallet_ownership",
            is_unit::<<Runtime as pallet_ownership::Config>::WeightInfo>(),
        ),
        (
            "pallet_consent",
            is_unit::<<Runtime as pallet_consent::Config>::WeightInfo>(),
        ),
        (
            "pallet_listing",
            is_unit::<<Runtime as pallet_listing::Config>::WeightInfo>(),
        ),
        (
            "pallet_delivery",
            is_unit::<<Runtime as pallet_delivery::Config>::WeightInfo>(),
        ),
        (
            "pallet_escrow",
            is_unit::<<Runtime as pallet_escrow::Config>::WeightInfo>(),
        ),
        (
            "pallet_revenue",
            is_unit::<<Runtime as pallet_revenue::Config>::WeightInfo>(),
        ),
    ];
    let unmeasured: Vec<_> = wiring
        .iter()
        .filter(|(_, unit)| *unit)
        .map(|(pallet, _)| *pallet)
        .collect();
    assert!(
        unmeasured.is_empty(),
        "wired to the `()` weights instead of measured ones: {unmeasured:?}"
    );
}

/// Storage accesses and the cost every block and transaction pays before its calls are priced
/// as measured on a validator (`scripts/bench-storage.sh`, `scripts/bench-weights.sh overhead`),
/// not at FRAME's defaults, which were measured on other machines and databases.
#[test]
fn storage_and_overheads_are_priced_as_measured_not_at_frames_defaults() {
    use frame_support::dispatch::DispatchClass;
    use frame_support::weights::constants::{
        BlockExecutionWeight, ExtrinsicBaseWeight, RocksDbWeight,
    };
    let db = <Runtime as frame_system::Config>::DbWeight::get();
    assert_ne!(db, RocksDbWeight::get(), "DbWeight is FRAME's default");
    assert!(db.read > 0 && db.write > 0, "free storage access: {db:?}");
    let weights = <Runtime as frame_system::Config>::BlockWeights::get();
    assert_ne!(weights.base_block, BlockExecutionWeight::get());
    assert!(weights.base_block.ref_time() > 0);
    let base_extrinsic = weights.get(DispatchClass::Normal).base_extrinsic;
    assert_ne!(base_extrinsic, ExtrinsicBaseWeight::get());
    assert!(base_extrinsic.ref_time() > 0);
    for class in DispatchClass::all() {
        assert_eq!(
            weights.get(*class).base_extrinsic,
            base_extrinsic,
            "{class:?}"
        );
    }
}

/// Benchmarks leave three values out of the calls' weights, because every purchase shares
/// them and only the first access in a block reaches the database: the member list, the
/// order counter and the delivery period. The block must pay that access instead, in the
/// marketplace pallets' `on_initialize`; no other marketplace key may go unpaid.
#[test]
fn the_values_benchmarks_leave_out_are_paid_once_per_block() {
    use frame_support::traits::Hooks;
    let marketplace = [
        "Consortium",
        "Ownership",
        "Consent",
        "Listing",
        "Delivery",
        "Escrow",
        "Revenue",
    ]
    .map(|name| sp_io::hashing::twox_128(name.as_bytes()));
    let delivery_period = sp_io::hashing::twox_128(b":DeliveryPeriod:").to_vec();
    let mut left_out: Vec<Vec<u8>> = medledger_runtime::benchmark_whitelist()
        .into_iter()
        .map(|tracked| tracked.key)
        .filter(|key| key == &delivery_period || marketplace.iter().any(|p| key.starts_with(p)))
        .collect();
    left_out.sort();
    let mut shared = vec![
        pallet_consortium::Members::<Runtime>::hashed_key().to_vec(),
        pallet_escrow::NextOrderId::<Runtime>::hashed_key().to_vec(),
        delivery_period,
    ];
    shared.sort();
    assert_eq!(left_out, shared);

    // Three reads, and the order counter's write; the member list changes only by a vote,
    // which pays its write (pallets/consortium's tests).
    let db = <Runtime as frame_system::Config>::DbWeight::get();
    let paid = <pallet_consortium::Pallet<Runtime> as Hooks<u32>>::on_initialize(1)
        + <pallet_escrow::Pallet<Runtime> as Hooks<u32>>::on_initialize(1);
    assert_eq!(paid, db.reads_writes(3, 1));
}
