//! Payout roots by the custodian's node: what the runtime's off-chain worker decides, and how
//! it talks to the node's native side (the same arrangement as the escrow's delivery worker).
//!
//! The worker runs on the custodian's node, on **finalized** blocks only:
//!
//! 1. It finds the node's accounts under the delivery key type (`mdlv`, the key that signs
//!    the custodian's receipts) that are a custodian or its off-chain-worker delegate.
//! 2. For each of those custodians whose earnings up to the last ended epoch are not covered by
//!    its latest root, it writes a job — that epoch, the cumulative total, every order released
//!    up to it with its owners' part (`PoolOrders`) and every owner enrolled at the custodian —
//!    to the offchain database under [`JOBS_KEY`] as [`PayoutJobs`], unless a worker of a
//!    later block already did.
//! 3. The node's native side builds the payout book of each job from the delivery openings of
//!    its orders ([`crate::book`]), keeps it (it serves owners their proofs from it) and only
//!    then writes the root under [`outcome_key`] as a [`PayoutOutcome`]. A job naming a
//!    rejected root makes it build a new book in place of the rejected one.
//! 4. The worker submits `commit_root` for each job with an outcome, signed by that account,
//!    notes the block under [`submitted_key`], and submits again only if the root has not
//!    landed [`RESUBMIT_AFTER`] blocks later. It never submits a root the consortium rejected.
//!
//! Offchain-database values are SCALE-encoded; per-root keys end with SCALE((custodian,
//! epoch)).

use crate::{
    BalanceOf, Call, Config, Earned, EnrolledOwners, EpochIndex, LatestRoot, OrderId, Pallet,
    PayoutRoots, PoolOrders,
};
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
use sp_runtime::{offchain::storage::StorageValueRef, traits::Zero};

/// Offchain-database key of the current [`PayoutJobs`].
pub const JOBS_KEY: &[u8] = b"medledger/payout/jobs";
/// Prefix of a root job's [`PayoutOutcome`].
pub const OUTCOME_PREFIX: &[u8] = b"medledger/payout/outcome/";
/// Prefix of the block at which the worker last submitted a root.
pub const SUBMITTED_PREFIX: &[u8] = b"medledger/payout/submitted/";

/// Blocks the worker waits for a submitted root to land before it submits it again.
pub const RESUBMIT_AFTER: u32 = 5;

/// The roots this node must build, as of finalized block `as_of`.
#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
pub struct PayoutJobs<AccountId, Balance, BlockNumber> {
    pub as_of: BlockNumber,
    pub jobs: Vec<PayoutJob<AccountId, Balance>>,
}

/// One custodian's next root: its cumulative earnings up to an ended epoch.
#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
pub struct PayoutJob<AccountId, Balance> {
    pub custodian: AccountId,
    pub epoch: EpochIndex,
    /// Everything the custodian's sales earned their owners up to the epoch: the sum of the
    /// orders' parts.
    pub total: Balance,
    /// Every order released up to the epoch and each one's owners' part, by order id.
    pub orders: Vec<(OrderId, Balance)>,
    /// Every owner enrolled at the custodian: each gets a leaf.
    pub owners: Vec<AccountId>,
    /// The custodian's root for this epoch that the consortium rejected, if any: the book
    /// behind it must be built again.
    pub rejected: Option<H256>,
}

/// The root the node's native side built for a job: `commit_root`'s arguments.
#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
pub struct PayoutOutcome<Balance> {
    pub root: H256,
    pub total: Balance,
    pub leaf_count: u32,
}

/// Offchain-database key of the job's [`PayoutOutcome`].
pub fn outcome_key<AccountId: Encode>(custodian: &AccountId, epoch: EpochIndex) -> Vec<u8> {
    per_root_key(OUTCOME_PREFIX, custodian, epoch)
}

/// Offchain-database key of the block the root was last submitted at.
pub fn submitted_key<AccountId: Encode>(custodian: &AccountId, epoch: EpochIndex) -> Vec<u8> {
    per_root_key(SUBMITTED_PREFIX, custodian, epoch)
}

fn per_root_key<AccountId: Encode>(
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
        let Some(epoch) = Self::current_epoch().checked_sub(1) else {
            return;
        };
        let mut jobs: Vec<(PayoutJob<T::AccountId, BalanceOf<T>>, &Account<T>)> = Vec::new();
        for (custodian, earned) in Earned::<T>::iter() {
            let Some(account) = local.iter().find(|account| {
                account.id == custodian || T::Delegates::may_act_for(&custodian, &account.id)
            }) else {
                continue;
            };
            // Nothing to root yet when every sale is in the current epoch.
            let Some(total) = earned.through(epoch).filter(|total| !total.is_zero()) else {
                continue;
            };
            let latest = LatestRoot::<T>::get(&custodian)
                .and_then(|latest| PayoutRoots::<T>::get(&custodian, latest).map(|r| (latest, r)));
            let rejected = match latest {
                Some((latest, root))
                    if !root.rejected && (latest >= epoch || root.total >= total) =>
                {
                    continue
                }
                Some((latest, root)) if root.rejected && latest == epoch => Some(root.root),
                _ => None,
            };
            let mut orders: Vec<(OrderId, BalanceOf<T>)> =
                PoolOrders::<T>::iter_prefix((&custodian,))
                    .filter(|((order_epoch, _), _)| *order_epoch <= epoch)
                    .map(|((_, order), part)| (order, part))
                    .collect();
            orders.sort_by_key(|(order, _)| *order);
            let job = PayoutJob {
                owners: T::Owners::enrolled_at(&custodian),
                custodian,
                epoch,
                total,
                orders,
                rejected,
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
                "the root built for epoch {epoch} pays a total other than the earnings; not committed"
            );
            return;
        }
        if job.rejected == Some(outcome.root) {
            log::debug!(target: "medledger::payout", "waiting for a new book in place of the rejected root of epoch {epoch}");
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
