//! Every MedLedger pallet is charged with its runtime weights (`SubstrateWeight<Runtime>`,
//! priced with the runtime's database costs), never with the test-only `()` weights.

use frame_support::dispatch::GetDispatchInfo;
use frame_support::weights::Weight;
use medledger_runtime::{AccountId, Runtime, RuntimeCall};

fn charged(call: RuntimeCall) -> Weight {
    call.get_dispatch_info().call_weight
}

fn someone() -> AccountId {
    sp_keyring::Sr25519Keyring::Alice.to_account_id()
}

/// One call of each pallet: (pallet, weight the runtime charges, its `SubstrateWeight`, `()`).
fn charged_and_expected() -> Vec<(&'static str, Weight, Weight, Weight)> {
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
            <() as pallet_consortium::WeightInfo>::close(),
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
            <() as pallet_ownership::WeightInfo>::end_enrolment()
                + <() as pallet_consent::WeightInfo>::on_patient_released(),
        ),
        (
            "consent",
            charged(RuntimeCall::Consent(pallet_consent::Call::revoke_consent {
                consent: 0,
            })),
            pallet_consent::weights::SubstrateWeight::<Runtime>::revoke_consent(),
            <() as pallet_consent::WeightInfo>::revoke_consent(),
        ),
        (
            "listing",
            charged(RuntimeCall::Listing(pallet_listing::Call::close_listing {
                listing: 0,
            })),
            pallet_listing::weights::SubstrateWeight::<Runtime>::close_listing(),
            <() as pallet_listing::WeightInfo>::close_listing(),
        ),
        (
            "delivery",
            charged(RuntimeCall::Delivery(
                pallet_delivery::Call::remove_delivery_key {},
            )),
            pallet_delivery::weights::SubstrateWeight::<Runtime>::remove_delivery_key(),
            <() as pallet_delivery::WeightInfo>::remove_delivery_key(),
        ),
        (
            "escrow",
            charged(RuntimeCall::Escrow(pallet_escrow::Call::refund {
                order: 0,
            })),
            pallet_escrow::weights::SubstrateWeight::<Runtime>::refund(),
            <() as pallet_escrow::WeightInfo>::refund(),
        ),
        (
            "revenue",
            charged(RuntimeCall::Revenue(pallet_revenue::Call::pay_owed {
                who: someone(),
            })),
            pallet_revenue::weights::SubstrateWeight::<Runtime>::pay_owed(),
            <() as pallet_revenue::WeightInfo>::pay_owed(),
        ),
    ]
}

#[test]
fn every_pallet_is_charged_its_runtime_weights() {
    for (pallet, charged, runtime_weights, _) in charged_and_expected() {
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

/// Where the test-only weights differ from the runtime's, the runtime's are the ones charged
/// (the test above would pass with `()` only where both are the same figures).
#[test]
fn no_pallet_is_charged_the_test_only_weights_where_they_differ() {
    let differing: Vec<_> = charged_and_expected()
        .into_iter()
        .filter(|(_, _, runtime_weights, test_only)| runtime_weights != test_only)
        .collect();
    for (pallet, charged, _, test_only) in &differing {
        assert_ne!(
            charged, test_only,
            "{pallet} is charged the test-only weights"
        );
    }
}
