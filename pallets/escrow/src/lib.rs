//! # Escrow pallet
//!
//! Orders for listed datasets and the buyer's money behind them: held until the data arrives,
//! untouchable by anyone early, and never lost whichever way an order ends.
//!
//! ## Why a pallet of its own
//! Listings (`pallet-listing`) are the custodian's public offers; orders are the buyer's
//! money and move by buyer, custodian, time and vote. This pallet owns the orders — `buy`
//! lives here — and reads listings through [`pallet_listing::ListingRegistry`] and delivery
//! keys and off-chain-worker delegates through [`pallet_delivery::DeliveryKeyRegistry`]. Each
//! state machine stays small, and the runtime wires the three together.
//!
//! ## Life of an order
//! ```text
//! buy ──► Paid ──receipt──► Delivered ──confirm / window elapsed──► Released
//!          │                    │
//!          │ deadline missed,   └──dispute (+bond)──► Disputed ──decision / vote expiry──► Resolved
//!          │ custodian removed
//!          ├──refund──► Refunded
//!          └──decline (custodian: nothing to deliver)──► Refunded
//! ```
//! - [`Pallet::buy`] checks the listing is active, still at the version the buyer saw, costs
//!   no more than `max_price`, and that the buyer has a delivery key; then it holds the
//!   maximum cost (price per record × maximum records, or the flat price) under
//!   [`HoldReason::OrderPayment`] and opens the order with deadline `now + DeliveryPeriod`.
//!   The order copies the buyer's delivery key: rotating it later does not affect the order.
//! - [`Pallet::submit_receipt`]: the custodian or its off-chain-worker delegate, once, for a
//!   paid order, until the deadline. For per-record listings the unused part of the hold
//!   (records not delivered) goes back to the buyer at once.
//! - [`Pallet::decline`]: the custodian or its delegate reports that no record may be
//!   delivered (none is consented for this buyer and purpose, or k-anonymity withholds all);
//!   the buyer gets the whole price back at once instead of waiting for the deadline.
//! - [`Pallet::confirm`]: the buyer releases the price early.
//! - [`Pallet::finalize`] (anyone) and `on_idle` (at most `MaxAutoReleasesPerBlock` orders
//!   per block, within the idle weight) release delivered orders after `DisputeWindow`.
//! - [`Pallet::refund`]: the buyer takes back the whole price of an undelivered order once
//!   the deadline has passed, or at once if the custodian is no longer a consortium member.
//! - [`Pallet::dispute`]: within the dispute window the buyer holds `DisputeBond` under
//!   [`HoldReason::DisputeBond`] and [`DisputeResolver`] opens a consortium vote that excludes
//!   the custodian. The decision arrives through [`Pallet::resolve_dispute`] from
//!   `DecisionOrigin`: the buyer wins → price and bond back to the buyer; the custodian wins
//!   → price released, bond to the custodian.
//! - **Default on vote expiry**: if no decision arrives within `DisputeVotingPeriod`,
//!   [`Pallet::finalize`] lets the delivery stand (the price is released to revenue, as if
//!   confirmed: the custodian's receipt is the only evidence on chain) and returns the bond to
//!   the buyer (nobody judged the dispute frivolous). See [`DEFAULT_ON_VOTE_EXPIRY`].
//!
//! ## Where released money goes
//! On release the held price is transferred, out of the buyer's hold, to the free balance of
//! [`OnEscrowRelease::revenue_account`] (an account the revenue pallet owns; it must exist),
//! and then [`OnEscrowRelease::on_escrow_released`] is told the order, custodian, amount and
//! record count so it can split it. Both happen in the same transaction.
//!
//! ## Invariants (`try_state`)
//! - For every buyer with orders: held under `OrderPayment` == sum of the prices of its open
//!   orders, held under `DisputeBond` == sum of the bonds of its disputed orders.
//! - Order ids are below `NextOrderId`; a receipt exists exactly for orders past `Paid` (and
//!   not `Refunded`); the release queue's index range is dense.
//! - `PendingDeliveries` lists exactly the `Paid` orders, under their custodian.
//!
//! ## Delivery by the custodian's node
//! The custodian's off-chain worker (on finalized blocks) hands its pending orders to the
//! node's native side, which selects, de-identifies and seals the data, and then signs the
//! receipt with the delivery key in the node's keystore. The protocol between the two sides
//! is in [`offchain`].

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod model_tests;
pub mod offchain;
#[cfg(test)]
mod offchain_tests;
#[cfg(test)]
mod tests;
mod types;
pub mod weights;

/// What an expired dispute vote means: the delivery stands (price released), bond returned.
pub const DEFAULT_ON_VOTE_EXPIRY: DisputeOutcome = DisputeOutcome::VoteExpired;

/// Receives released escrow: the revenue-distribution pallet implements it.
pub trait OnEscrowRelease<AccountId, Balance> {
    /// The account released prices are transferred to (free balance). It must exist.
    fn revenue_account() -> AccountId;
    /// `amount` for `order` (of `record_count` records, sold by `custodian`) has just been
    /// transferred to [`Self::revenue_account`]. An error undoes the whole release.
    fn on_escrow_released(
        order: OrderId,
        custodian: &AccountId,
        amount: Balance,
        record_count: u32,
    ) -> sp_runtime::DispatchResult;
}

/// Runs dispute votes: the consortium pallet implements it.
pub trait DisputeResolver<AccountId> {
    /// Open a vote on `order`, which `buyer` disputes; `custodian` must not vote on it. The
    /// decision comes back as a `resolve_dispute` call from `DecisionOrigin`.
    fn open_dispute(
        order: OrderId,
        custodian: &AccountId,
        buyer: &AccountId,
    ) -> sp_runtime::DispatchResult;
    /// The dispute on `order` ended (decided or expired): drop its vote if one still runs.
    fn dispute_closed(order: OrderId);
}

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use frame_support::{
        pallet_prelude::*,
        storage::with_storage_layer,
        traits::{
            fungible::{Inspect, InspectHold, Mutate, MutateHold},
            tokens::{Fortitude, Precision, Restriction},
            Contains,
        },
    };
    use frame_system::{
        offchain::{AppCrypto, CreateSignedTransaction},
        pallet_prelude::*,
    };
    use pallet_delivery::{DeliveryKey, DeliveryKeyRegistry};
    use pallet_listing::{ListingId, ListingRegistry};
    use sp_core::H256;
    use sp_runtime::{
        traits::{Saturating, Zero},
        TokenError,
    };

    pub type BalanceOf<T> =
        <<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
    pub type OrderOf<T> =
        Order<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    /// Why this pallet holds funds.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// The price of an open order.
        #[codec(index = 0)]
        OrderPayment,
        /// The bond of a disputed order.
        #[codec(index = 1)]
        DisputeBond,
    }

    #[pallet::config]
    pub trait Config: frame_system::Config + CreateSignedTransaction<Call<Self>> {
        /// The custodian's delivery key in its node's keystore ([`crate::offchain`]): the
        /// off-chain worker signs receipts with it.
        type AuthorityId: AppCrypto<Self::Public, Self::Signature>;
        /// The runtime's hold reasons, which include this pallet's.
        type RuntimeHoldReason: From<HoldReason>;
        /// The currency prices are paid and held in.
        type Currency: Mutate<Self::AccountId>
            + MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
        /// The consortium's current member hospitals.
        type Custodians: Contains<Self::AccountId>;
        /// The listings orders are placed against.
        type Listings: ListingRegistry<Self::AccountId, BalanceOf<Self>>;
        /// Buyers' delivery keys and custodians' receipt delegates.
        type DeliveryKeys: DeliveryKeyRegistry<Self::AccountId>;
        /// Where released escrow goes.
        type Revenue: OnEscrowRelease<Self::AccountId, BalanceOf<Self>>;
        /// Opens consortium votes on disputes.
        type DisputeResolver: DisputeResolver<Self::AccountId>;
        /// The origin of dispute decisions (the consortium vote).
        type DecisionOrigin: EnsureOrigin<Self::RuntimeOrigin>;
        /// Blocks the custodian has to deliver after the sale.
        #[pallet::constant]
        type DeliveryPeriod: Get<BlockNumberFor<Self>>;
        /// Blocks after a receipt during which the buyer may dispute.
        #[pallet::constant]
        type DisputeWindow: Get<BlockNumberFor<Self>>;
        /// Blocks the consortium has to decide a dispute.
        #[pallet::constant]
        type DisputeVotingPeriod: Get<BlockNumberFor<Self>>;
        /// What a dispute costs the buyer if it loses.
        #[pallet::constant]
        type DisputeBond: Get<BalanceOf<Self>>;
        /// Most release-queue entries `on_idle` handles in one block.
        #[pallet::constant]
        type MaxAutoReleasesPerBlock: Get<u32>;
        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
        /// Makes custodians for the benchmarks (the same helper the listing pallet uses).
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: pallet_listing::BenchmarkHelper<Self::AccountId>;
    }

    /// All orders, closed ones included (buyers check receipts, regulators audit).
    #[pallet::storage]
    pub type Orders<T: Config> = StorageMap<_, Blake2_128Concat, OrderId, OrderOf<T>>;

    /// The id the next order gets. Whitelisted in benchmarks: [`Hooks::on_initialize`] pays
    /// its database read and write once per block, however many orders the block places.
    #[pallet::storage]
    #[pallet::whitelist_storage]
    pub type NextOrderId<T: Config> = StorageValue<_, OrderId, ValueQuery>;

    /// Orders waiting for delivery (state `Paid`), by custodian: what a custodian's off-chain
    /// worker reads instead of every order ever placed.
    #[pallet::storage]
    pub type PendingDeliveries<T: Config> =
        StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Twox64Concat, OrderId, ()>;

    /// Delivered orders in receipt order, for `on_idle`. Release times grow with receipt times
    /// (the dispute window is a constant), so the head is always the first to fall due.
    /// Entries whose order was confirmed or disputed meanwhile are skipped when reached.
    #[pallet::storage]
    pub type ReleaseQueue<T: Config> = StorageMap<_, Twox64Concat, u64, OrderId>;

    /// `(head, tail)` of [`ReleaseQueue`]: entries live at indices `head..tail`.
    #[pallet::storage]
    pub type ReleaseQueueBounds<T: Config> = StorageValue<_, (u64, u64), ValueQuery>;

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// A buyer bought a listing; `price_held` is on hold until the order ends.
        OrderPlaced {
            order: OrderId,
            listing: ListingId,
            listing_version: u32,
            buyer: T::AccountId,
            custodian: T::AccountId,
            price_held: BalanceOf<T>,
            deadline: BlockNumberFor<T>,
        },
        /// The custodian (or its delegate) reported the delivery.
        ReceiptSubmitted {
            order: OrderId,
            submitted_by: T::AccountId,
            ciphertext_digest: H256,
            size: u64,
            record_count: u32,
            records_root: H256,
            price: BalanceOf<T>,
            unused_returned: BalanceOf<T>,
            release_at: BlockNumberFor<T>,
        },
        /// The price went to revenue distribution.
        EscrowReleased {
            order: OrderId,
            custodian: T::AccountId,
            amount: BalanceOf<T>,
            record_count: u32,
            cause: ReleaseCause,
        },
        /// The custodian (or its delegate) found nothing it may deliver, checking consent at
        /// `checked_at`; an `OrderRefunded` follows.
        DeliveryDeclined {
            order: OrderId,
            submitted_by: T::AccountId,
            checked_at: BlockNumberFor<T>,
        },
        /// The price went back to the buyer.
        OrderRefunded {
            order: OrderId,
            buyer: T::AccountId,
            amount: BalanceOf<T>,
            cause: RefundCause,
        },
        /// The buyer disputed a delivery and bonded `bond`.
        DisputeOpened {
            order: OrderId,
            buyer: T::AccountId,
            bond: BalanceOf<T>,
            vote_expires_at: BlockNumberFor<T>,
        },
        /// A dispute ended; the bond went to `bond_to`.
        DisputeResolved {
            order: OrderId,
            outcome: DisputeOutcome,
            bond_to: T::AccountId,
        },
        /// `on_idle` could not release a due order; anyone may retry with `finalize`.
        AutoReleaseFailed {
            order: OrderId,
            error: DispatchError,
        },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// No listing has this id.
        UnknownListing,
        /// The listing is closed.
        ListingInactive,
        /// The listing changed since the buyer looked (its version differs).
        ListingVersionMismatch,
        /// The custodian is not (or no longer) a consortium member.
        CustodianNotMember,
        /// A custodian cannot buy its own listing.
        BuyerIsCustodian,
        /// The price is above the buyer's `max_price`.
        PriceAboveMaximum,
        /// The price does not fit the balance type.
        PriceOverflow,
        /// The buyer has no delivery key registered.
        NoDeliveryKey,
        /// The buyer cannot put the price on hold.
        InsufficientBalance,
        /// Order ids are exhausted.
        OrderIdOverflow,
        /// No order has this id.
        UnknownOrder,
        /// Only the custodian or its off-chain-worker delegate may submit the receipt.
        NotCustodianOrDelegate,
        /// The order already has a receipt.
        ReceiptAlreadySubmitted,
        /// The order is not waiting for delivery.
        OrderNotPaid,
        /// The delivery deadline has passed.
        DeliveryDeadlinePassed,
        /// The receipt names another key than the order's.
        DeliveryKeyMismatch,
        /// The receipt counts more records than the listing's maximum.
        TooManyRecords,
        /// A delivery must contain at least one record.
        EmptyDelivery,
        /// The sale-consent block must be the order's block.
        SaleBlockMismatch,
        /// The block at which consent was checked again (a receipt's or a decline's) must lie
        /// between the sale and now.
        InvalidReceiptBlock,
        /// Only the buyer may do this.
        NotBuyer,
        /// The order is not delivered (or already settled).
        OrderNotDelivered,
        /// Only an undelivered (paid) order can be refunded.
        NotRefundable,
        /// The deadline has not passed and the custodian is still a member.
        DeadlineNotPassed,
        /// The dispute window is over.
        DisputeWindowClosed,
        /// The buyer cannot put the dispute bond on hold.
        InsufficientBondBalance,
        /// The order is not disputed.
        OrderNotDisputed,
        /// The dispute vote has expired; `finalize` applies the default outcome.
        VoteExpired,
        /// The order cannot be finalized yet (window or vote still running) or at all.
        NotFinalizable,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        /// Every purchase reads two values shared by all purchases: `NextOrderId` (also
        /// written) and `T::DeliveryPeriod`, which the runtime keeps in storage. Only the
        /// first access in a block reaches the database; later ones are served from the
        /// block's overlay and cache. So `buy` is benchmarked with both keys whitelisted and
        /// the block pays their database access here, once.
        fn on_initialize(_now: BlockNumberFor<T>) -> Weight {
            T::DbWeight::get().reads_writes(2, 1)
        }

        fn on_idle(now: BlockNumberFor<T>, remaining_weight: Weight) -> Weight {
            Self::release_due_orders(now, remaining_weight)
        }

        /// The custodian's node: publish its pending deliveries to the node's native side and
        /// submit the receipts of those it has sealed ([`crate::offchain`]). The node runs this
        /// on finalized blocks only.
        fn offchain_worker(now: BlockNumberFor<T>) {
            Self::run_delivery_worker(now)
        }

        #[cfg(feature = "try-runtime")]
        fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Buy `listing` at the `listing_version` the buyer saw, paying at most `max_price`.
        /// Holds the price and opens an order.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::buy())]
        pub fn buy(
            origin: OriginFor<T>,
            listing: ListingId,
            max_price: BalanceOf<T>,
            listing_version: u32,
        ) -> DispatchResult {
            let buyer = ensure_signed(origin)?;
            // Counted as awaiting delivery now; a refusal below fails the call and undoes it.
            let terms = T::Listings::order_placed(listing).ok_or(Error::<T>::UnknownListing)?;
            ensure!(terms.active, Error::<T>::ListingInactive);
            ensure!(
                terms.version == listing_version,
                Error::<T>::ListingVersionMismatch
            );
            ensure!(
                T::Custodians::contains(&terms.custodian),
                Error::<T>::CustodianNotMember
            );
            ensure!(buyer != terms.custodian, Error::<T>::BuyerIsCustodian);
            let price = terms.pricing.max_cost().ok_or(Error::<T>::PriceOverflow)?;
            ensure!(price <= max_price, Error::<T>::PriceAboveMaximum);
            let delivery_key =
                T::DeliveryKeys::delivery_key(&buyer).ok_or(Error::<T>::NoDeliveryKey)?;
            let order = NextOrderId::<T>::get();
            let next = order.checked_add(1).ok_or(Error::<T>::OrderIdOverflow)?;
            let now = frame_system::Pallet::<T>::block_number();
            let deadline = now.saturating_add(T::DeliveryPeriod::get());

            let payment: T::RuntimeHoldReason = HoldReason::OrderPayment.into();
            T::Currency::hold(&payment, &buyer, price).map_err(|error| match error {
                DispatchError::Token(
                    TokenError::FundsUnavailable | TokenError::CannotCreateHold,
                ) => Error::<T>::InsufficientBalance.into(),
                other => other,
            })?;
            NextOrderId::<T>::put(next);
            PendingDeliveries::<T>::insert(&terms.custodian, order, ());
            Orders::<T>::insert(
                order,
                Order {
                    buyer: buyer.clone(),
                    custodian: terms.custodian.clone(),
                    listing,
                    listing_version,
                    purpose: terms.purpose,
                    pricing: terms.pricing,
                    delivery_key,
                    placed_at: now,
                    deadline,
                    price,
                    bond: Zero::zero(),
                    state: OrderState::Paid,
                    receipt: None,
                },
            );
            Self::deposit_event(Event::OrderPlaced {
                order,
                listing,
                listing_version,
                buyer,
                custodian: terms.custodian,
                price_held: price,
                deadline,
            });
            Ok(())
        }

        /// Report a delivery: by the custodian or its off-chain-worker delegate, once, for a
        /// paid order, no later than its deadline. `delivery_key` must be the order's key and
        /// `sale_block_consent` the order's block; `receipt_block` (where consent was checked
        /// again) lies between the sale and now. `records_root` commits to the delivered
        /// (record commitment, owner) pairs (see [`crate::offchain::records_root`]), so the
        /// custodian can later open one delivery to a regulator without the chain showing who
        /// was in it.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::submit_receipt())]
        // Flat arguments keep the call easy to build from the off-chain worker and the CLI.
        #[allow(clippy::too_many_arguments)]
        pub fn submit_receipt(
            origin: OriginFor<T>,
            order: OrderId,
            ciphertext_digest: H256,
            size: u64,
            record_count: u32,
            records_root: H256,
            delivery_key: DeliveryKey,
            sale_block_consent: BlockNumberFor<T>,
            receipt_block: BlockNumberFor<T>,
        ) -> DispatchResult {
            let (submitter, mut stored) = Self::custodians_order(origin, order)?;
            ensure!(
                stored.receipt.is_none(),
                Error::<T>::ReceiptAlreadySubmitted
            );
            ensure!(stored.state == OrderState::Paid, Error::<T>::OrderNotPaid);
            ensure!(
                T::Custodians::contains(&stored.custodian),
                Error::<T>::CustodianNotMember
            );
            let now = frame_system::Pallet::<T>::block_number();
            ensure!(now <= stored.deadline, Error::<T>::DeliveryDeadlinePassed);
            ensure!(
                delivery_key == stored.delivery_key,
                Error::<T>::DeliveryKeyMismatch
            );
            ensure!(record_count > 0, Error::<T>::EmptyDelivery);
            ensure!(
                record_count <= stored.pricing.max_records,
                Error::<T>::TooManyRecords
            );
            ensure!(
                sale_block_consent == stored.placed_at,
                Error::<T>::SaleBlockMismatch
            );
            ensure!(
                stored.placed_at <= receipt_block && receipt_block <= now,
                Error::<T>::InvalidReceiptBlock
            );
            let price = stored
                .pricing
                .cost_of(record_count)
                .ok_or(Error::<T>::PriceOverflow)?;
            let unused = stored.price.saturating_sub(price);
            let release_at = now.saturating_add(T::DisputeWindow::get());

            if !unused.is_zero() {
                T::Currency::release(
                    &HoldReason::OrderPayment.into(),
                    &stored.buyer,
                    unused,
                    Precision::Exact,
                )?;
            }
            stored.price = stored.price.saturating_sub(unused);
            stored.state = OrderState::Delivered { release_at };
            Self::leave_delivery(order, &stored);
            stored.receipt = Some(Receipt {
                ciphertext_digest,
                size,
                record_count,
                records_root,
                delivery_key,
                sale_block_consent,
                receipt_block,
                submitted_by: submitter.clone(),
            });
            Orders::<T>::insert(order, &stored);
            Self::enqueue_release(order);
            Self::deposit_event(Event::ReceiptSubmitted {
                order,
                submitted_by: submitter,
                ciphertext_digest,
                size,
                record_count,
                records_root,
                price: stored.price,
                unused_returned: unused,
                release_at,
            });
            Ok(())
        }

        /// The custodian or its off-chain-worker delegate declines a paid order it has nothing
        /// to deliver for: no registered record is consented for the buyer and purpose at the
        /// sale block and still at `checked_at` (or k-anonymity would withhold every one). The
        /// whole price goes back to the buyer at once.
        #[pallet::call_index(7)]
        #[pallet::weight(T::WeightInfo::decline())]
        pub fn decline(
            origin: OriginFor<T>,
            order: OrderId,
            checked_at: BlockNumberFor<T>,
        ) -> DispatchResult {
            let (submitter, mut stored) = Self::custodians_order(origin, order)?;
            ensure!(stored.state == OrderState::Paid, Error::<T>::OrderNotPaid);
            let now = frame_system::Pallet::<T>::block_number();
            ensure!(
                stored.placed_at <= checked_at && checked_at <= now,
                Error::<T>::InvalidReceiptBlock
            );
            Self::deposit_event(Event::DeliveryDeclined {
                order,
                submitted_by: submitter,
                checked_at,
            });
            Self::refund_price(order, &mut stored, RefundCause::NothingToDeliver)?;
            Self::leave_delivery(order, &stored);
            stored.state = OrderState::Refunded;
            Orders::<T>::insert(order, stored);
            Ok(())
        }

        /// The buyer confirms a delivery: the price is released to revenue now.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::confirm())]
        pub fn confirm(origin: OriginFor<T>, order: OrderId) -> DispatchResult {
            let mut stored = Self::buyers_order(origin, order)?;
            ensure!(
                matches!(stored.state, OrderState::Delivered { .. }),
                Error::<T>::OrderNotDelivered
            );
            Self::release_to_revenue(order, &mut stored, ReleaseCause::Confirmed)
        }

        /// Anyone settles an order whose time is up: a delivered order after its dispute
        /// window is released; a disputed order whose vote expired gets the default outcome
        /// ([`DEFAULT_ON_VOTE_EXPIRY`]): the price is released, the bond returned to the buyer.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::finalize())]
        pub fn finalize(origin: OriginFor<T>, order: OrderId) -> DispatchResult {
            ensure_signed(origin)?;
            let mut stored = Orders::<T>::get(order).ok_or(Error::<T>::UnknownOrder)?;
            let now = frame_system::Pallet::<T>::block_number();
            match stored.state {
                OrderState::Delivered { release_at } if now >= release_at => {
                    Self::release_to_revenue(order, &mut stored, ReleaseCause::DisputeWindowElapsed)
                }
                OrderState::Disputed { vote_expires_at } if now > vote_expires_at => {
                    Self::settle_dispute(order, &mut stored, DEFAULT_ON_VOTE_EXPIRY)
                }
                _ => Err(Error::<T>::NotFinalizable.into()),
            }
        }

        /// The buyer takes back the whole price of an undelivered order: after the deadline,
        /// or at once if the custodian has left the consortium.
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::refund())]
        pub fn refund(origin: OriginFor<T>, order: OrderId) -> DispatchResult {
            let mut stored = Self::buyers_order(origin, order)?;
            ensure!(stored.state == OrderState::Paid, Error::<T>::NotRefundable);
            let now = frame_system::Pallet::<T>::block_number();
            let cause = if !T::Custodians::contains(&stored.custodian) {
                RefundCause::CustodianRemoved
            } else if now > stored.deadline {
                RefundCause::DeadlineMissed
            } else {
                return Err(Error::<T>::DeadlineNotPassed.into());
            };
            Self::refund_price(order, &mut stored, cause)?;
            Self::leave_delivery(order, &stored);
            stored.state = OrderState::Refunded;
            Orders::<T>::insert(order, stored);
            Ok(())
        }

        /// The buyer disputes a delivery within the dispute window, holding `DisputeBond`.
        /// A consortium vote that excludes the custodian decides.
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::dispute())]
        pub fn dispute(origin: OriginFor<T>, order: OrderId) -> DispatchResult {
            let mut stored = Self::buyers_order(origin, order)?;
            let OrderState::Delivered { release_at } = stored.state else {
                return Err(Error::<T>::OrderNotDelivered.into());
            };
            let now = frame_system::Pallet::<T>::block_number();
            ensure!(now < release_at, Error::<T>::DisputeWindowClosed);
            let bond = T::DisputeBond::get();
            let bond_reason: T::RuntimeHoldReason = HoldReason::DisputeBond.into();
            ensure!(
                T::Currency::can_hold(&bond_reason, &stored.buyer, bond),
                Error::<T>::InsufficientBondBalance
            );
            let vote_expires_at = now.saturating_add(T::DisputeVotingPeriod::get());

            T::Currency::hold(&bond_reason, &stored.buyer, bond)?;
            T::DisputeResolver::open_dispute(order, &stored.custodian, &stored.buyer)?;
            stored.bond = bond;
            stored.state = OrderState::Disputed { vote_expires_at };
            Orders::<T>::insert(order, &stored);
            Self::deposit_event(Event::DisputeOpened {
                order,
                buyer: stored.buyer,
                bond,
                vote_expires_at,
            });
            Ok(())
        }

        /// The consortium's decision on a dispute, up to and including the vote's last block
        /// `vote_expires_at` (the consortium counts votes in that block too).
        #[pallet::call_index(6)]
        #[pallet::weight(T::WeightInfo::resolve_dispute())]
        pub fn resolve_dispute(
            origin: OriginFor<T>,
            order: OrderId,
            decision: Decision,
        ) -> DispatchResult {
            T::DecisionOrigin::ensure_origin(origin)?;
            Self::apply_dispute_decision(order, decision)
        }
    }

    impl<T: Config> Pallet<T> {
        /// Applies a dispute vote's decision (what [`Pallet::resolve_dispute`] does after its
        /// origin check): for a runtime whose dispute votes reach the escrow directly, so that
        /// no other origin, such as a Root vote that counts the custodian, can decide.
        pub fn apply_dispute_decision(order: OrderId, decision: Decision) -> DispatchResult {
            let mut stored = Orders::<T>::get(order).ok_or(Error::<T>::UnknownOrder)?;
            let OrderState::Disputed { vote_expires_at } = stored.state else {
                return Err(Error::<T>::OrderNotDisputed.into());
            };
            let now = frame_system::Pallet::<T>::block_number();
            ensure!(now <= vote_expires_at, Error::<T>::VoteExpired);
            Self::settle_dispute(order, &mut stored, DisputeOutcome::Decided(decision))
        }

        /// `order`, which the signer must have bought.
        /// The order and the signer, if the signer is its custodian or the custodian's delegate.
        fn custodians_order(
            origin: OriginFor<T>,
            order: OrderId,
        ) -> Result<(T::AccountId, OrderOf<T>), DispatchError> {
            let who = ensure_signed(origin)?;
            let stored = Orders::<T>::get(order).ok_or(Error::<T>::UnknownOrder)?;
            ensure!(
                T::DeliveryKeys::may_act_for(&stored.custodian, &who),
                Error::<T>::NotCustodianOrDelegate
            );
            Ok((who, stored))
        }

        fn buyers_order(origin: OriginFor<T>, order: OrderId) -> Result<OrderOf<T>, DispatchError> {
            let who = ensure_signed(origin)?;
            let stored = Orders::<T>::get(order).ok_or(Error::<T>::UnknownOrder)?;
            ensure!(who == stored.buyer, Error::<T>::NotBuyer);
            Ok(stored)
        }

        /// `order` no longer awaits delivery (delivered, declined or refunded): off the
        /// custodian's queue, and no longer keeping its listing stored.
        fn leave_delivery(order: OrderId, stored: &OrderOf<T>) {
            PendingDeliveries::<T>::remove(&stored.custodian, order);
            T::Listings::delivery_ended(stored.listing);
        }

        /// Move the held price to the revenue account and tell the revenue pallet; the order
        /// becomes `Released` (or `Resolved` when called from a dispute, by the caller).
        fn release_to_revenue(
            order: OrderId,
            stored: &mut OrderOf<T>,
            cause: ReleaseCause,
        ) -> DispatchResult {
            let record_count = stored
                .receipt
                .as_ref()
                .map_or(0, |receipt| receipt.record_count);
            T::Currency::transfer_on_hold(
                &HoldReason::OrderPayment.into(),
                &stored.buyer,
                &T::Revenue::revenue_account(),
                stored.price,
                Precision::Exact,
                Restriction::Free,
                // Escrowed money is committed: the buyer's freezes must not block its release.
                Fortitude::Force,
            )?;
            T::Revenue::on_escrow_released(order, &stored.custodian, stored.price, record_count)?;
            stored.state = OrderState::Released;
            Orders::<T>::insert(order, &*stored);
            Self::deposit_event(Event::EscrowReleased {
                order,
                custodian: stored.custodian.clone(),
                amount: stored.price,
                record_count,
                cause,
            });
            Ok(())
        }

        /// Give the held price back to the buyer. The caller sets the final state.
        fn refund_price(
            order: OrderId,
            stored: &mut OrderOf<T>,
            cause: RefundCause,
        ) -> DispatchResult {
            T::Currency::release(
                &HoldReason::OrderPayment.into(),
                &stored.buyer,
                stored.price,
                Precision::Exact,
            )?;
            Self::deposit_event(Event::OrderRefunded {
                order,
                buyer: stored.buyer.clone(),
                amount: stored.price,
                cause,
            });
            Ok(())
        }

        /// End a dispute: move price and bond as `outcome` says and close the vote.
        fn settle_dispute(
            order: OrderId,
            stored: &mut OrderOf<T>,
            outcome: DisputeOutcome,
        ) -> DispatchResult {
            let bond_reason: T::RuntimeHoldReason = HoldReason::DisputeBond.into();
            let bond_to = match outcome {
                DisputeOutcome::Decided(Decision::BuyerWins) => {
                    Self::refund_price(order, stored, RefundCause::DisputeUpheld)?;
                    T::Currency::release(
                        &bond_reason,
                        &stored.buyer,
                        stored.bond,
                        Precision::Exact,
                    )?;
                    stored.buyer.clone()
                }
                DisputeOutcome::Decided(Decision::CustodianWins) => {
                    Self::release_to_revenue(order, stored, ReleaseCause::DisputeRejected)?;
                    T::Currency::transfer_on_hold(
                        &bond_reason,
                        &stored.buyer,
                        &stored.custodian,
                        stored.bond,
                        Precision::Exact,
                        Restriction::Free,
                        Fortitude::Force,
                    )?;
                    stored.custodian.clone()
                }
                DisputeOutcome::VoteExpired => {
                    Self::release_to_revenue(order, stored, ReleaseCause::DisputeVoteExpired)?;
                    T::Currency::release(
                        &bond_reason,
                        &stored.buyer,
                        stored.bond,
                        Precision::Exact,
                    )?;
                    stored.buyer.clone()
                }
            };
            stored.state = OrderState::Resolved { outcome };
            Orders::<T>::insert(order, &*stored);
            T::DisputeResolver::dispute_closed(order);
            Self::deposit_event(Event::DisputeResolved {
                order,
                outcome,
                bond_to,
            });
            Ok(())
        }

        fn enqueue_release(order: OrderId) {
            let (head, tail) = ReleaseQueueBounds::<T>::get();
            ReleaseQueue::<T>::insert(tail, order);
            ReleaseQueueBounds::<T>::put((head, tail.saturating_add(1)));
        }

        /// Release delivered orders whose dispute window has elapsed, from the head of the
        /// release queue, within `limit` and `MaxAutoReleasesPerBlock` entries.
        pub(crate) fn release_due_orders(now: BlockNumberFor<T>, limit: Weight) -> Weight {
            let mut used = T::WeightInfo::auto_release_base();
            if used.any_gt(limit) {
                return Weight::zero();
            }
            let per_entry = T::WeightInfo::auto_release_entry();
            let (mut head, tail) = ReleaseQueueBounds::<T>::get();
            let mut handled = 0u32;
            while head < tail && handled < T::MaxAutoReleasesPerBlock::get() {
                let with_entry = used.saturating_add(per_entry);
                if with_entry.any_gt(limit) {
                    break;
                }
                let Some(order) = ReleaseQueue::<T>::get(head) else {
                    defensive!("release queue has a hole inside its bounds");
                    head = head.saturating_add(1);
                    continue;
                };
                if let Some(mut stored) = Orders::<T>::get(order) {
                    if let OrderState::Delivered { release_at } = stored.state {
                        if now < release_at {
                            break;
                        }
                        let released = with_storage_layer(|| {
                            Self::release_to_revenue(
                                order,
                                &mut stored,
                                ReleaseCause::DisputeWindowElapsed,
                            )
                        });
                        if let Err(error) = released {
                            Self::deposit_event(Event::AutoReleaseFailed { order, error });
                        }
                    }
                }
                ReleaseQueue::<T>::remove(head);
                head = head.saturating_add(1);
                handled = handled.saturating_add(1);
                used = with_entry;
            }
            ReleaseQueueBounds::<T>::put((head, tail));
            used
        }

        /// Check the invariants listed in the crate documentation.
        #[cfg(any(feature = "try-runtime", feature = "std"))]
        pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
            use alloc::collections::btree_map::BTreeMap;
            let next = NextOrderId::<T>::get();
            let mut held: BTreeMap<T::AccountId, (BalanceOf<T>, BalanceOf<T>)> = BTreeMap::new();
            for (id, order) in Orders::<T>::iter() {
                ensure!(id < next, "an order id is not below NextOrderId");
                let delivered = !matches!(order.state, OrderState::Paid | OrderState::Refunded);
                ensure!(
                    order.receipt.is_some() == delivered,
                    "receipt presence does not match state"
                );
                ensure!(
                    PendingDeliveries::<T>::contains_key(&order.custodian, id)
                        == (order.state == OrderState::Paid),
                    "PendingDeliveries does not list exactly the paid orders"
                );
                let entry = held.entry(order.buyer.clone()).or_default();
                if order.state.is_open() {
                    entry.0 = entry.0.saturating_add(order.price);
                }
                if matches!(order.state, OrderState::Disputed { .. }) {
                    entry.1 = entry.1.saturating_add(order.bond);
                }
            }
            for (buyer, (prices, bonds)) in held {
                ensure!(
                    T::Currency::balance_on_hold(&HoldReason::OrderPayment.into(), &buyer)
                        == prices,
                    "a buyer's payment hold differs from its open orders' prices"
                );
                ensure!(
                    T::Currency::balance_on_hold(&HoldReason::DisputeBond.into(), &buyer) == bonds,
                    "a buyer's bond hold differs from its disputed orders' bonds"
                );
            }
            for (custodian, id, ()) in PendingDeliveries::<T>::iter() {
                ensure!(
                    Orders::<T>::get(id).is_some_and(|order| order.custodian == custodian),
                    "PendingDeliveries names an order of another custodian or none"
                );
            }
            let (head, tail) = ReleaseQueueBounds::<T>::get();
            ensure!(head <= tail, "release queue head is past its tail");
            let mut entries = 0u64;
            for (index, order) in ReleaseQueue::<T>::iter() {
                ensure!(
                    head <= index && index < tail,
                    "release queue entry outside its bounds"
                );
                ensure!(order < next, "release queue names an unknown order");
                entries = entries.saturating_add(1);
            }
            ensure!(
                entries == tail.saturating_sub(head),
                "release queue has holes"
            );
            Ok(())
        }
    }
}
