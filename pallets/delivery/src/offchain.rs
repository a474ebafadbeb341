//! Off-chain worker helpers shared by the pallets whose workers run on a custodian's node and
//! act with its delivery key (the escrow's deliveries, the revenue's payout roots): both
//! publish a job list to the node's native side and submit signed transactions at most once
//! per resubmit delay.

use codec::{Decode, Encode};
use sp_runtime::{offchain::storage::StorageValueRef, traits::Saturating};

/// Writes `value` under `key` in the offchain database unless a worker of a later block already
/// wrote one (workers may overlap; an older one never overwrites a newer list). `as_of` gives
/// the block a value was published at. Returns whether `value` was written.
pub fn publish_unless_newer<V, N>(key: &[u8], value: V, as_of: impl Fn(&V) -> N) -> bool
where
    V: Encode + Decode,
    N: PartialOrd,
{
    let now = as_of(&value);
    StorageValueRef::persistent(key)
        .mutate(|previous: Result<Option<V>, _>| match previous {
            Ok(Some(previous)) if as_of(&previous) > now => Err(()),
            _ => Ok(value),
        })
        .is_ok()
}

/// Whether a transaction marked under `key` is due at `now`: never sent, or sent at least
/// `resubmit_after` blocks ago (it did not land). If due, `now` is recorded.
pub fn submission_due<N>(key: &[u8], now: N, resubmit_after: N) -> bool
where
    N: Encode + Decode + Saturating + PartialOrd + Copy,
{
    StorageValueRef::persistent(key)
        .mutate(|last: Result<Option<N>, _>| match last {
            Ok(Some(at)) if now < at.saturating_add(resubmit_after) => Err(()),
            _ => Ok(now),
        })
        .is_ok()
}

/// Forgets the submission marked under `key`, so the next worker tries again at once (the
/// transaction could not be sent).
pub fn forget_submission(key: &[u8]) {
    StorageValueRef::persistent(key).clear();
}

/// What mock runtimes need to test these workers: the signed-transaction plumbing of a
/// runtime whose accounts are `u64` and whose keystore keys are `UintAuthorityId`s, and the
/// calls a worker put in the test transaction pool.
#[cfg(feature = "std")]
pub mod testing {
    use codec::DecodeWithMemTracking;
    use sp_runtime::{generic::Preamble, testing::TestXt};

    /// Implements `SigningTypes`, `CreateTransactionBase` and `CreateSignedTransaction` for
    /// the mock `$runtime` (extrinsics `TestXt<$call, ()>`: the signer's account and the call),
    /// and defines `TestDeliveryAuthority`, the keystore's delivery keys
    /// (`UintAuthorityId::set_all_keys`).
    #[macro_export]
    macro_rules! impl_mock_offchain_signing {
        ($runtime:ty, $call:ty) => {
            impl frame_system::offchain::SigningTypes for $runtime {
                type Public = sp_runtime::testing::UintAuthorityId;
                type Signature = sp_runtime::testing::TestSignature;
            }

            impl<LocalCall> frame_system::offchain::CreateTransactionBase<LocalCall> for $runtime
            where
                $call: From<LocalCall>,
            {
                type Extrinsic = sp_runtime::testing::TestXt<$call, ()>;
                type RuntimeCall = $call;
            }

            impl<LocalCall> frame_system::offchain::CreateSignedTransaction<LocalCall> for $runtime
            where
                $call: From<LocalCall>,
            {
                fn create_signed_transaction<
                    C: frame_system::offchain::AppCrypto<Self::Public, Self::Signature>,
                >(
                    call: $call,
                    _public: sp_runtime::testing::UintAuthorityId,
                    account: u64,
                    _nonce: u32,
                ) -> Option<sp_runtime::testing::TestXt<$call, ()>> {
                    Some(sp_runtime::testing::TestXt::new_signed(
                        call,
                        account,
                        (),
                        (),
                    ))
                }
            }

            /// The node keystore's delivery keys in tests.
            pub struct TestDeliveryAuthority;
            impl
                frame_system::offchain::AppCrypto<
                    sp_runtime::testing::UintAuthorityId,
                    sp_runtime::testing::TestSignature,
                > for TestDeliveryAuthority
            {
                type RuntimeAppPublic = sp_runtime::testing::UintAuthorityId;
                type GenericPublic = sp_runtime::testing::UintAuthorityId;
                type GenericSignature = sp_runtime::testing::TestSignature;
            }
        };
    }

    /// A test transaction pool, as the workers see it.
    pub struct WorkerPool(Box<dyn Fn() -> Vec<Vec<u8>>>);

    impl WorkerPool {
        /// The calls in the pool, with their signers.
        pub fn signed_calls<Call: DecodeWithMemTracking>(&self) -> Vec<(u64, Call)> {
            (self.0)()
                .iter()
                .map(|bytes| {
                    let xt = <TestXt<Call, ()> as codec::Decode>::decode(&mut &bytes[..])
                        .expect("a mock extrinsic");
                    let Preamble::Signed(signer, (), ()) = xt.preamble else {
                        panic!("the worker sends signed transactions only");
                    };
                    (signer, xt.function)
                })
                .collect()
        }
    }

    /// Gives `ext` what a custodian's node gives its workers: offchain storage, a transaction
    /// pool, and `keys` as the keystore's delivery keys.
    pub fn worker_externalities(ext: &mut sp_io::TestExternalities, keys: &[u64]) -> WorkerPool {
        use sp_core::offchain::{
            testing::{TestOffchainExt, TestTransactionPoolExt},
            OffchainDbExt, OffchainWorkerExt, TransactionPoolExt,
        };
        let (offchain, _offchain_state) = TestOffchainExt::new();
        let (pool, pool_state) = TestTransactionPoolExt::new();
        ext.register_extension(OffchainDbExt::new(offchain.clone()));
        ext.register_extension(OffchainWorkerExt::new(offchain));
        ext.register_extension(TransactionPoolExt::new(pool));
        sp_runtime::testing::UintAuthorityId::set_all_keys(keys.iter().copied());
        WorkerPool(Box::new(move || pool_state.read().transactions.clone()))
    }
}
