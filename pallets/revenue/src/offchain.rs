//! Payout roots by the custodian's node: what the runtime's off-chain worker decides, and how
//! it talks to the node's native side (the same arrangement as the escrow's delivery worker).
//!
//! The worker runs on the custodian's node, on **finalized** blocks only:
//!
//! 1. It finds the node's accounts under the delivery key type (`mdlv`, the key that signs
//!    the custodian's receipts) that are a custodian or its off-chain-worker delegate.
//! 2. It writes those custodians' pools of *ended* epochs, each with its orders and their
//!    parts (`PoolOrders`), to the offchain database under [`JOBS_KEY`] as [`PayoutJobs`],
//!    unless a worker of a later block already did.
//! 3. The node's native side builds the payout book of each job from the delivery openings of
//!    its orders ([`crate::book`]), keeps it (it serves owners their proofs from it) and only
//!    then writes the root under [`outcome_key`] as a [`PayoutOutcome`].
//! 4. The worker submits `commit_root` for each job with an outcome, signed by that account,
//!    notes the block under [`submitted_key`], and submits again only if the pool is still
//!    open [`RESUBMIT_AFTER`] blocks later. The chain accepts one root per pool.
//!
//! Offchain-database values are SCALE-encoded; per-pool keys end with SCALE((custodian,
//! epoch)).

use crate::{BalanceOf, Call, Config, EpochIndex, EpochPools, OrderId, Pallet, PoolOrders};
use alloc::vec::Vec;
use codec::{Decode, Encode};
use frame_system::{
    offchain::{Account, SendSignedTransaction, Signer},
    pallet_prelude::BlockNumberFor,
};
use pallet_delivery::{
    offchain::{forget_submission, publish_unless_newer, submission_due},
    DeliveryKeyRegistry,
};
use sp_core::H256;
use sp_runtime::offchain::storage::StorageValueRef;

/// Offchain-database key of the current [`PayoutJobs`].
pub const JOBS_KEY: &[u8] = b"medledger/payout/jobs";
/// Prefix of a pool's [`PayoutOutcome`].
pub const OUTCOME_PREFIX: &[u8] = b"medledger/payout/outcome/";
/// Prefix of the block at which the worker last submitted a pool's root.
pub const SUBMITTED_PREFIX: &[u8] = b"medledger/payout/submitted/";

/// Blocks the worker waits for a submitted root to land before it submits it again.
pub const RESUBMIT_AFTER: u32 = 5;

/// The pools this node must build roots for, as of finalized block `as_of`.
#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
pub struct PayoutJobs<AccountId, Balance, BlockNumber> {
    pub as_of: BlockNumber,
    pub jobs: Vec<PayoutJob<AccountId, Balance>>,
}

/// One ended epoch's pool of one custodian.
#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
pub struct PayoutJob<AccountId, Balance> {
    pub custodian: AccountId,
    pub epoch: EpochIndex,
    /// The pool: the sum of the orders' parts.
    pub total: Balance,
    /// The released orders of the epoch and each one's owners' part, by order id.
    pub orders: Vec<(OrderId, Balance)>,
}

/// The root the node's native side built for a pool: `commit_root`'s arguments.
#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
pub struct PayoutOutcome<Balance> {
    pub root: H256,
    pub total: Balance,
    pub leaf_count: u32,
}

/// Offchain-database key of the pool's [`PayoutOutcome`].
pub fn outcome_key<AccountId: Encode>(custodian: &AccountId, epoch: EpochIndex) -> Vec<u8> {
    per_pool_key(OUTCOME_PREFIX, custodian, epoch)
}

/// Offchain-database key of the block the pool's root was last submitted at.
pub fn submitted_key<AccountId: Encode>(custodian: &AccountId, epoch: EpochIndex) -> Vec<u8> {
    per_pool_key(SUBMITTED_PREFIX, custodian, epoch)
}

fn per_pool_key<AccountId: Encode>(
    prefix: &[u8],
    custodian: &AccountId,
    epoch: EpochIndex,
) -> Vec<u8> {
    let mut key = prefix.to_vec();
    (custodian, epoch).encode_to(&mut key);
    key
}

type JobsOf<T> =
    PayoutJobs<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;

impl<T: Config> Pallet<T> {
    /// One run of the payout worker at finalized block `now` (see the module docs).
    pub(crate) fn run_payout_worker(now: BlockNumberFor<T>) {
        let local: Vec<Account<T>> = Signer::<T, T::AuthorityId>::all_accounts()
            .accounts_from_keys()
            .collect();
        if local.is_empty() {
            return;
        }
        let current = Self::current_epoch();
        let mut jobs: Vec<(PayoutJob<T::AccountId, BalanceOf<T>>, &Account<T>)> = Vec::new();
        for (custodian, epoch, total) in EpochPools::<T>::iter() {
            if epoch >= current {
                continue;
            }
            let Some(account) = local.iter().find(|account| {
                account.id == custodian || T::Delegates::may_act_for(&custodian, &account.id)
            }) else {
                continue;
            };
            let mut orders: Vec<(OrderId, BalanceOf<T>)> =
                PoolOrders::<T>::iter_prefix((&custodian, epoch)).collect();
            orders.sort_by_key(|(order, _)| *order);
            let job = PayoutJob {
                custodian,
                epoch,
                total,
                orders,
            };
            jobs.push((job, account));
        }
        jobs.sort_by_key(|(job, _)| (job.epoch, job.custodian.encode()));
        Self::publish_jobs(PayoutJobs {
            as_of: now,
            jobs: jobs.iter().map(|(job, _)| job.clone()).collect(),
        });
        for (job, account) in &jobs {
            Self::commit_if_built(now, job, account);
        }
    }

    /// Replace the job list unless a worker of a later block already wrote one.
    fn publish_jobs(jobs: JobsOf<T>) {
        if !publish_unless_newer(JOBS_KEY, jobs, |jobs: &JobsOf<T>| jobs.as_of) {
            log::debug!(target: "medledger::payout", "jobs of a later block are already published");
        }
    }

    fn commit_if_built(
        now: BlockNumberFor<T>,
        job: &PayoutJob<T::AccountId, BalanceOf<T>>,
        account: &Account<T>,
    ) {
        let (custodian, epoch) = (&job.custodian, job.epoch);
        let outcome = StorageValueRef::persistent(&outcome_key(custodian, epoch))
            .get::<PayoutOutcome<BalanceOf<T>>>();
        let Ok(Some(outcome)) = outcome else {
            return;
        };
        if outcome.total != job.total {
            log::error!(
                target: "medledger::payout",
                "the root built for epoch {epoch} pays a total other than the pool's; not committed"
            );
            return;
        }
        let marker_key = submitted_key(custodian, epoch);
        if !submission_due(&marker_key, now, RESUBMIT_AFTER.into()) {
            return;
        }
        let call = Call::commit_root {
            custodian: custodian.clone(),
            epoch,
            root: outcome.root,
            total: outcome.total,
            leaf_count: outcome.leaf_count,
        };
        let sent = Signer::<T, T::AuthorityId>::any_account()
            .send_single_signed_transaction(account, call);
        if sent != Some(Ok(())) {
            forget_submission(&marker_key);
            log::warn!(target: "medledger::payout", "could not submit the payout root of epoch {epoch}");
        } else {
            log::info!(target: "medledger::payout", "submitted the payout root of epoch {epoch}");
        }
    }
}
