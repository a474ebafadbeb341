//! # Ownership pallet
//!
//! Who owns each medical record, and which hospital (custodian) holds it. The chain keeps only
//! salted commitments: no content and no category codes, so no diagnosis is readable from chain
//! state. It may show that an account has records at a hospital.
//!
//! ## Dispatchables
//! - [`Pallet::enrol`]: a member hospital enrols a patient with the patient's signature over
//!   [`Pallet::enrolment_message`]: a hospital can never invent owners, and nobody gets an
//!   account with free calls without a hospital vouching for it. The hospital pays the fee and
//!   holds `EnrolmentDeposit` for as long as the enrolment lasts.
//! - [`Pallet::end_enrolment`]: either the patient or the hospital ends an enrolment; free for
//!   the patient (`feeless_if`) when it would succeed and the patient's previous enrolment
//!   change is `FreeEnrolmentCooldown` blocks old (the cooldown keeps free calls from flooding
//!   blocks).
//! - [`Pallet::register_records`]: a member hospital registers a batch of records (id, owner,
//!   commitment) for owners enrolled with it; the registration block is recorded.
//! - [`Pallet::request_erasure`]: the owner asks for erasure, free; the record stops being
//!   sellable at once.
//! - [`Pallet::confirm_erasure`]: the custodian confirms its off-chain copy is deleted; the
//!   record id stays as a tombstone and can never be registered or sold again.
//!
//! ## Storage deposits
//! Patients hold no tokens, so the hospital that vouches for one pays for its storage: each
//! enrolment holds `EnrolmentDeposit` from the hospital (`HoldReason::EnrolmentDeposit`),
//! released when the enrolment ends, whoever ends it. It stands for the enrolment and for what
//! the patient keeps on chain through it, which other pallets bound per patient (consents:
//! `MaxConsentsPerOwner`; the free-call log: `MaxCallsPerWindow`). When the patient's account is
//! let go, `OnPatientReleased` tells those pallets, which end or drop what it kept.
//!
//! Other pallets read the registry through the [`RecordRegistry`] trait; wallets list an
//! owner's records through the runtime API in `pallet-ownership-runtime-api`.
//!
//! ## Patients hold no tokens
//! frame-system refuses any signed transaction from an account that does not exist (no
//! provider or sufficient reference). This pallet therefore keeps a patient's account in
//! existence (one `sufficients` reference, noted in `AccountRefs`) from its first enrolment
//! until it is enrolled nowhere and owns no record that is not erased. Within that time the
//! patient signs its free calls (consent, erasure requests, claims) with any wallet, never
//! having received a unit.
//!
//! ## Invariants (checked by `try_state`)
//! - Each custodian's held `EnrolmentDeposit` equals the deposits of its enrolments.
//! - `AccountRefs[owner]` exists exactly for owners enrolled somewhere or owning a record that
//!   is not erased, and each such account holds a sufficient reference.
//! - `EnrolmentCount[owner]` equals the number of `Enrolments[owner, _]` entries and is at most
//!   `MaxEnrolmentsPerOwner`.
//! - `OwnerRecords[owner, id]` exists exactly for the records of `owner` that are not erased,
//!   `OwnerRecordCount[owner]` counts them and is at most `MaxRecordsPerOwner`.

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
mod tests;
mod types;
pub mod weights;

/// Domain-separation tag of the message a patient signs to be enrolled.
pub const ENROLMENT_MESSAGE_PREFIX: &[u8] = b"medledger:enrol:v1";

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use alloc::{collections::btree_map::BTreeMap, vec::Vec};
    use frame_support::{
        pallet_prelude::*,
        traits::{
            fungible::{Mutate, MutateHold},
            tokens::Precision,
            Contains,
        },
    };
    use frame_system::pallet_prelude::*;
    use sp_runtime::traits::{AtLeast32BitUnsigned, IdentifyAccount, Saturating, Verify, Zero};

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    /// Why this pallet holds funds.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// An enrolment's storage deposit, held from the hospital while the enrolment lasts.
        EnrolmentDeposit,
    }

    /// An enrolment as stored.
    pub type EnrolmentOf<T> = Enrolment<BlockNumberFor<T>, <T as Config>::Balance>;

    #[pallet::config]
    pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
        /// The consortium's member hospitals: only they take enrolments and register records.
        type Custodians: Contains<Self::AccountId>;
        /// The runtime's balance type.
        type Balance: Parameter + Member + AtLeast32BitUnsigned + MaxEncodedLen + Copy;
        /// The runtime's hold reasons, which include this pallet's.
        type RuntimeHoldReason: From<HoldReason>;
        /// Holds the enrolment deposits.
        type Currency: Mutate<Self::AccountId, Balance = Self::Balance>
            + MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
        /// Held from the hospital per enrolment (crate docs, "Storage deposits").
        #[pallet::constant]
        type EnrolmentDeposit: Get<Self::Balance>;

        /// Most records in one [`Pallet::register_records`] batch.
        #[pallet::constant]
        type MaxBatchSize: Get<u32>;

        /// Most registered, not erased records one owner may have.
        #[pallet::constant]
        type MaxRecordsPerOwner: Get<u32>;

        /// Most hospitals one owner may be enrolled with at the same time.
        #[pallet::constant]
        type MaxEnrolmentsPerOwner: Get<u32>;

        /// Blocks an owner waits between free enrolment changes (enrolling, or ending their
        /// own enrolment); a paid call does not wait.
        #[pallet::constant]
        type FreeEnrolmentCooldown: Get<BlockNumberFor<Self>>;

        /// A patient's signature on its enrolment (the runtime's `MultiSignature`).
        type OwnerSignature: Parameter
            + Verify<Signer: IdentifyAccount<AccountId = Self::AccountId>>;

        /// Longest a patient's signed enrolment stays usable, in blocks after submission.
        #[pallet::constant]
        type MaxEnrolmentValidity: Get<BlockNumberFor<Self>>;

        /// Told when a patient's account is let go, so other pallets forget its call logs.
        type OnPatientReleased: medledger_primitives::OnPatientReleased<Self::AccountId>;

        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;

        /// Supplies a member hospital to the benchmarks.
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: BenchmarkHelper<Self::AccountId, Self::OwnerSignature>;
    }

    /// Current enrolments: owner, custodian → block of enrolment and deposit held.
    #[pallet::storage]
    pub type Enrolments<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Blake2_128Concat,
        T::AccountId,
        EnrolmentOf<T>,
        OptionQuery,
    >;

    /// Number of custodians each owner is enrolled with.
    #[pallet::storage]
    pub type EnrolmentCount<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

    /// Block of each owner's latest enrolment change made by the owner (for the free-call
    /// cooldown).
    #[pallet::storage]
    pub type LastEnrolmentChange<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, BlockNumberFor<T>, OptionQuery>;

    /// Patients whose account this pallet keeps in existence (one `sufficients` reference):
    /// those enrolled somewhere or owning a record that is not erased.
    #[pallet::storage]
    pub type AccountRefs<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, ()>;

    /// Every record ever registered, erased ones included (as tombstones).
    #[pallet::storage]
    pub type Records<T: Config> = StorageMap<
        _,
        Blake2_128Concat,
        RecordId,
        RecordInfo<T::AccountId, BlockNumberFor<T>>,
        OptionQuery,
    >;

    /// Index owner → record ids (not erased), so an owner's records are listed by prefix.
    #[pallet::storage]
    pub type OwnerRecords<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Blake2_128Concat,
        RecordId,
        (),
        OptionQuery,
    >;

    /// Number of `OwnerRecords` entries per owner.
    #[pallet::storage]
    pub type OwnerRecordCount<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// A patient enrolled with a hospital, which holds `deposit`.
        Enrolled {
            owner: T::AccountId,
            custodian: T::AccountId,
            deposit: T::Balance,
        },
        /// An enrolment ended, at the request of `ended_by` (owner or custodian); the
        /// hospital's `deposit` is released.
        EnrolmentEnded {
            owner: T::AccountId,
            custodian: T::AccountId,
            ended_by: T::AccountId,
            deposit: T::Balance,
        },
        /// A custodian registered `count` records; the ids are in the extrinsic.
        RecordsRegistered { custodian: T::AccountId, count: u32 },
        /// The owner asked for erasure; the record is no longer sellable.
        ErasureRequested {
            record: RecordId,
            owner: T::AccountId,
            custodian: T::AccountId,
        },
        /// The custodian confirmed deletion of its off-chain copy.
        RecordErased {
            record: RecordId,
            owner: T::AccountId,
            custodian: T::AccountId,
        },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// The account is not a member hospital of the consortium.
        NotCustodian,
        /// The owner is already enrolled with this custodian.
        AlreadyEnrolled,
        /// The owner is enrolled with `MaxEnrolmentsPerOwner` custodians already.
        TooManyEnrolments,
        /// There is no such enrolment.
        NotEnrolled,
        /// Only the owner or the custodian of an enrolment may end it.
        NotEnrolmentParty,
        /// A batch must hold at least one record.
        EmptyBatch,
        /// A batch holds more than `MaxBatchSize` records.
        BatchTooLarge,
        /// The same record id appears twice in the batch.
        DuplicateInBatch,
        /// A record with this id is already registered (or was, and was erased).
        AlreadyRegistered,
        /// The record's owner is not enrolled with the registering custodian.
        OwnerNotEnrolled,
        /// The owner would exceed `MaxRecordsPerOwner` records.
        TooManyRecords,
        /// No record with this id.
        UnknownRecord,
        /// Only the record's owner may do this.
        NotRecordOwner,
        /// Only the record's custodian may do this.
        NotRecordCustodian,
        /// Erasure was already requested for this record.
        ErasureAlreadyRequested,
        /// The owner has not requested erasure of this record.
        ErasureNotRequested,
        /// The record is already erased.
        AlreadyErased,
        /// The patient's signed enrolment is no longer valid (`valid_until` has passed).
        EnrolmentExpired,
        /// `valid_until` lies more than `MaxEnrolmentValidity` blocks ahead.
        ValidityTooLong,
        /// The signature is not the patient's over this enrolment's message.
        BadPatientSignature,
        /// The hospital cannot hold the enrolment deposit (`EnrolmentDeposit`).
        CannotHoldDeposit,
        /// A hospital cannot enrol its own account as a patient.
        CustodianAsPatient,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        #[cfg(feature = "try-runtime")]
        fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Enrol `patient` with the signing member hospital. `signature` is the patient's over
        /// [`Pallet::enrolment_message`]`(custodian, patient, valid_until)`, bare or wrapped in
        /// `<Bytes>…</Bytes>` as wallets sign raw bytes; it is usable until block `valid_until`
        /// and only while the patient's account nonce is unchanged. The patient's account exists
        /// from now on, without tokens (crate docs).
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::enrol())]
        pub fn enrol(
            origin: OriginFor<T>,
            patient: T::AccountId,
            valid_until: BlockNumberFor<T>,
            signature: T::OwnerSignature,
        ) -> DispatchResult {
            let custodian = ensure_signed(origin)?;
            // Its own transaction has already moved the nonce the patient's signature covers.
            ensure!(patient != custodian, Error::<T>::CustodianAsPatient);
            Self::ensure_can_enrol(&patient, &custodian)?;
            let now = frame_system::Pallet::<T>::block_number();
            ensure!(now <= valid_until, Error::<T>::EnrolmentExpired);
            ensure!(
                valid_until <= now.saturating_add(T::MaxEnrolmentValidity::get()),
                Error::<T>::ValidityTooLong
            );
            let message = Self::enrolment_message(&custodian, &patient, valid_until);
            let wrapped = [b"<Bytes>".as_slice(), &message, b"</Bytes>"].concat();
            ensure!(
                signature.verify(&message[..], &patient)
                    || signature.verify(&wrapped[..], &patient),
                Error::<T>::BadPatientSignature
            );

            let deposit = T::EnrolmentDeposit::get();
            if !deposit.is_zero() {
                T::Currency::hold(&HoldReason::EnrolmentDeposit.into(), &custodian, deposit)
                    .map_err(|_| Error::<T>::CannotHoldDeposit)?;
            }
            let enrolment = Enrolment {
                enrolled_at: now,
                deposit,
            };
            Enrolments::<T>::insert(&patient, &custodian, enrolment);
            EnrolmentCount::<T>::mutate(&patient, |count| *count = count.saturating_add(1));
            Self::hold_account(&patient);
            Self::deposit_event(Event::Enrolled {
                owner: patient,
                custodian,
                deposit,
            });
            Ok(())
        }

        /// End the enrolment of `owner` with `custodian`; signed by either of them. Records
        /// already registered stay owned by `owner`; the custodian's deposit is released.
        ///
        /// Free for the owner on the same terms as [`Pallet::enrol`]; the custodian pays.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::end_enrolment().saturating_add(Pallet::<T>::release_weight()))]
        #[pallet::feeless_if(|origin: &OriginFor<T>, owner: &T::AccountId,
			custodian: &T::AccountId| -> bool {
			ensure_signed(origin.clone()).map_or(false, |who| {
				&who == owner &&
					Enrolments::<T>::contains_key(owner, custodian) &&
					Pallet::<T>::free_change_allowed(owner)
			})
		})]
        pub fn end_enrolment(
            origin: OriginFor<T>,
            owner: T::AccountId,
            custodian: T::AccountId,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            ensure!(
                who == owner || who == custodian,
                Error::<T>::NotEnrolmentParty
            );
            let enrolment =
                Enrolments::<T>::take(&owner, &custodian).ok_or(Error::<T>::NotEnrolled)?;

            // Best effort: the hold is this pallet's own and holds at least this enrolment's.
            let _ = T::Currency::release(
                &HoldReason::EnrolmentDeposit.into(),
                &custodian,
                enrolment.deposit,
                Precision::BestEffort,
            );
            EnrolmentCount::<T>::mutate_exists(&owner, decrement_count);
            if who == owner {
                LastEnrolmentChange::<T>::insert(&owner, frame_system::Pallet::<T>::block_number());
            }
            Self::release_account_if_unused(&owner);
            Self::deposit_event(Event::EnrolmentEnded {
                owner,
                custodian,
                ended_by: who,
                deposit: enrolment.deposit,
            });
            Ok(())
        }

        /// Register a batch of records held by the signing member hospital.
        ///
        /// All-or-nothing: every record is checked (unique id, owner enrolled with this
        /// custodian, owner below `MaxRecordsPerOwner`) before anything is written.
        ///
        /// Takes a plain `Vec` so that an oversized batch gets the named `BatchTooLarge` error
        /// rather than a decoding failure; it is refused before any per-record work, so the
        /// weight is charged for at most `MaxBatchSize` records.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::register_records(
			(records.len() as u32).min(T::MaxBatchSize::get())
		))]
        pub fn register_records(
            origin: OriginFor<T>,
            records: Vec<RecordRegistration<T::AccountId>>,
        ) -> DispatchResult {
            let custodian = ensure_signed(origin)?;
            ensure!(
                T::Custodians::contains(&custodian),
                Error::<T>::NotCustodian
            );
            ensure!(!records.is_empty(), Error::<T>::EmptyBatch);
            ensure!(
                records.len() <= T::MaxBatchSize::get() as usize,
                Error::<T>::BatchTooLarge
            );

            let mut ids: Vec<RecordId> = records.iter().map(|record| record.id).collect();
            ids.sort_unstable();
            ensure!(
                ids.windows(2).all(|pair| pair[0] != pair[1]),
                Error::<T>::DuplicateInBatch
            );

            let mut added_per_owner: BTreeMap<T::AccountId, u32> = BTreeMap::new();
            for record in &records {
                ensure!(
                    !Records::<T>::contains_key(record.id),
                    Error::<T>::AlreadyRegistered
                );
                ensure!(
                    Enrolments::<T>::contains_key(&record.owner, &custodian),
                    Error::<T>::OwnerNotEnrolled
                );
                let added = added_per_owner.entry(record.owner.clone()).or_insert(0);
                *added = added.saturating_add(1);
            }
            let mut new_counts = Vec::with_capacity(added_per_owner.len());
            for (owner, added) in added_per_owner {
                let total = OwnerRecordCount::<T>::get(&owner)
                    .checked_add(added)
                    .filter(|total| *total <= T::MaxRecordsPerOwner::get())
                    .ok_or(Error::<T>::TooManyRecords)?;
                new_counts.push((owner, total));
            }

            let now = frame_system::Pallet::<T>::block_number();
            let count = records.len() as u32;
            for RecordRegistration {
                id,
                owner,
                commitment,
            } in records
            {
                OwnerRecords::<T>::insert(&owner, id, ());
                Records::<T>::insert(
                    id,
                    RecordInfo {
                        owner,
                        custodian: custodian.clone(),
                        commitment,
                        registered_at: now,
                        status: RecordStatus::Active,
                    },
                );
            }
            for (owner, total) in new_counts {
                OwnerRecordCount::<T>::insert(owner, total);
            }
            Self::deposit_event(Event::RecordsRegistered { custodian, count });
            Ok(())
        }

        /// The owner asks for erasure of one record. From now on it is not sellable.
        ///
        /// Free for the owner when it would succeed (once per record, so it cannot flood).
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::request_erasure())]
        #[pallet::feeless_if(|origin: &OriginFor<T>, record: &RecordId| -> bool {
			ensure_signed(origin.clone())
				.is_ok_and(|who| Pallet::<T>::ensure_can_request_erasure(&who, record).is_ok())
		})]
        pub fn request_erasure(origin: OriginFor<T>, record: RecordId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut info = Self::ensure_can_request_erasure(&who, &record)?;

            info.status = RecordStatus::ErasureRequested {
                requested_at: frame_system::Pallet::<T>::block_number(),
            };
            let custodian = info.custodian.clone();
            Records::<T>::insert(record, info);
            Self::deposit_event(Event::ErasureRequested {
                record,
                owner: who,
                custodian,
            });
            Ok(())
        }

        /// The custodian confirms it deleted its off-chain copy of a record whose erasure the
        /// owner requested. The id stays registered as a tombstone.
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::confirm_erasure().saturating_add(Pallet::<T>::release_weight()))]
        pub fn confirm_erasure(origin: OriginFor<T>, record: RecordId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut info = Records::<T>::get(record).ok_or(Error::<T>::UnknownRecord)?;
            ensure!(info.custodian == who, Error::<T>::NotRecordCustodian);
            let requested_at = match info.status {
                RecordStatus::ErasureRequested { requested_at } => requested_at,
                RecordStatus::Active => return Err(Error::<T>::ErasureNotRequested.into()),
                RecordStatus::Erased { .. } => return Err(Error::<T>::AlreadyErased.into()),
            };

            info.status = RecordStatus::Erased {
                requested_at,
                erased_at: frame_system::Pallet::<T>::block_number(),
            };
            let owner = info.owner.clone();
            Records::<T>::insert(record, info);
            OwnerRecords::<T>::remove(&owner, record);
            OwnerRecordCount::<T>::mutate_exists(&owner, decrement_count);
            Self::release_account_if_unused(&owner);
            Self::deposit_event(Event::RecordErased {
                record,
                owner,
                custodian: who,
            });
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// The bytes a patient signs to be enrolled with `custodian` until `valid_until`:
        /// `b"medledger:enrol:v1" ++ SCALE(genesis hash) ++ SCALE(custodian) ++ SCALE(patient)
        /// ++ SCALE(valid_until) ++ SCALE(the patient's account nonce)`. The genesis hash keeps
        /// it to this chain; the nonce makes it void once the patient has transacted (ending
        /// an enrolment, for example). Wallets get it from the runtime API.
        pub fn enrolment_message(
            custodian: &T::AccountId,
            patient: &T::AccountId,
            valid_until: BlockNumberFor<T>,
        ) -> Vec<u8> {
            let genesis = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
            let nonce = frame_system::Pallet::<T>::account_nonce(patient);
            let mut message = ENROLMENT_MESSAGE_PREFIX.to_vec();
            (genesis, custodian, patient, valid_until, nonce).encode_to(&mut message);
            message
        }

        /// Keeps `patient`'s account in existence, once.
        fn hold_account(patient: &T::AccountId) {
            if !AccountRefs::<T>::contains_key(patient) {
                frame_system::Pallet::<T>::inc_sufficients(patient);
                AccountRefs::<T>::insert(patient, ());
            }
        }

        /// Enrols `owner` with `custodian` as [`Pallet::enrol`] does but without the patient's
        /// signature, for benchmarks (here and in the runtime) whose owners have no key. Holds
        /// the deposit from `custodian`, which the benchmark funded.
        #[cfg(feature = "runtime-benchmarks")]
        pub fn enrol_for_benchmark(owner: &T::AccountId, custodian: &T::AccountId) {
            let deposit = T::EnrolmentDeposit::get();
            T::Currency::hold(&HoldReason::EnrolmentDeposit.into(), custodian, deposit)
                .expect("the benchmark funded the custodian");
            let enrolment = Enrolment {
                enrolled_at: frame_system::Pallet::<T>::block_number(),
                deposit,
            };
            Enrolments::<T>::insert(owner, custodian, enrolment);
            EnrolmentCount::<T>::mutate(owner, |count| *count = count.saturating_add(1));
            Self::hold_account(owner);
        }

        /// The work other pallets do when an account is let go (`OnPatientReleased`), charged
        /// to the calls that may let one go.
        pub fn release_weight() -> Weight {
            <T::OnPatientReleased as medledger_primitives::OnPatientReleased<_>>::weight()
        }

        /// Lets `owner`'s account go once it is enrolled nowhere and owns no live record.
        fn release_account_if_unused(owner: &T::AccountId) {
            if EnrolmentCount::<T>::get(owner) == 0
                && OwnerRecordCount::<T>::get(owner) == 0
                && AccountRefs::<T>::take(owner).is_some()
            {
                frame_system::Pallet::<T>::dec_sufficients(owner);
                <T::OnPatientReleased as medledger_primitives::OnPatientReleased<_>>::on_patient_released(owner);
            }
        }

        /// The checks of [`Pallet::request_erasure`], shared with its `feeless_if` condition;
        /// returns the record.
        pub fn ensure_can_request_erasure(
            who: &T::AccountId,
            record: &RecordId,
        ) -> Result<RecordInfo<T::AccountId, BlockNumberFor<T>>, Error<T>> {
            let info = Records::<T>::get(record).ok_or(Error::<T>::UnknownRecord)?;
            ensure!(&info.owner == who, Error::<T>::NotRecordOwner);
            match info.status {
                RecordStatus::Active => Ok(info),
                RecordStatus::ErasureRequested { .. } => Err(Error::<T>::ErasureAlreadyRequested),
                RecordStatus::Erased { .. } => Err(Error::<T>::AlreadyErased),
            }
        }

        /// The checks of [`Pallet::enrol`] on the enrolment itself.
        pub fn ensure_can_enrol(
            owner: &T::AccountId,
            custodian: &T::AccountId,
        ) -> Result<(), Error<T>> {
            ensure!(T::Custodians::contains(custodian), Error::<T>::NotCustodian);
            ensure!(
                !Enrolments::<T>::contains_key(owner, custodian),
                Error::<T>::AlreadyEnrolled
            );
            ensure!(
                EnrolmentCount::<T>::get(owner) < T::MaxEnrolmentsPerOwner::get(),
                Error::<T>::TooManyEnrolments
            );
            Ok(())
        }

        /// Whether the owner's last enrolment change is old enough for a free one.
        pub fn free_change_allowed(owner: &T::AccountId) -> bool {
            LastEnrolmentChange::<T>::get(owner).map_or(true, |last| {
                frame_system::Pallet::<T>::block_number()
                    >= last.saturating_add(T::FreeEnrolmentCooldown::get())
            })
        }

        /// The owner's records that are not erased, for the runtime API.
        pub fn records_of(
            owner: &T::AccountId,
        ) -> Vec<(RecordId, RecordInfo<T::AccountId, BlockNumberFor<T>>)> {
            OwnerRecords::<T>::iter_key_prefix(owner)
                .filter_map(|id| Records::<T>::get(id).map(|info| (id, info)))
                .collect()
        }

        /// The custodians the owner is enrolled with and since when, for the runtime API.
        pub fn enrolments_of(owner: &T::AccountId) -> Vec<(T::AccountId, BlockNumberFor<T>)> {
            Enrolments::<T>::iter_prefix(owner)
                .map(|(custodian, enrolment)| (custodian, enrolment.enrolled_at))
                .collect()
        }

        #[cfg(any(feature = "try-runtime", test))]
        pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
            check_counts(
                EnrolmentCount::<T>::iter(),
                T::MaxEnrolmentsPerOwner::get(),
                |owner| Enrolments::<T>::iter_prefix(owner).count(),
            )
            .map_err(|problem| match problem {
                CountProblem::Zero => "EnrolmentCount keeps a zero entry",
                CountProblem::OverLimit => "too many enrolments",
                CountProblem::Mismatch => "EnrolmentCount differs from Enrolments",
            })?;
            let mut deposits: BTreeMap<T::AccountId, T::Balance> = BTreeMap::new();
            for (owner, custodian, enrolment) in Enrolments::<T>::iter() {
                ensure!(
                    EnrolmentCount::<T>::contains_key(&owner),
                    "enrolment without count"
                );
                let held = deposits.entry(custodian).or_insert_with(Zero::zero);
                *held = held.saturating_add(enrolment.deposit);
            }
            use frame_support::traits::fungible::InspectHold;
            let reason = HoldReason::EnrolmentDeposit.into();
            for (custodian, held) in deposits {
                ensure!(
                    T::Currency::balance_on_hold(&reason, &custodian) == held,
                    "a custodian's held enrolment deposits differ from its enrolments' deposits"
                );
            }

            check_counts(
                OwnerRecordCount::<T>::iter(),
                T::MaxRecordsPerOwner::get(),
                |owner| OwnerRecords::<T>::iter_prefix(owner).count(),
            )
            .map_err(|problem| match problem {
                CountProblem::Zero => "OwnerRecordCount keeps a zero entry",
                CountProblem::OverLimit => "too many records",
                CountProblem::Mismatch => "OwnerRecordCount differs from OwnerRecords",
            })?;
            for (owner, id, ()) in OwnerRecords::<T>::iter() {
                let info = Records::<T>::get(id).ok_or("owner index names an unknown record")?;
                ensure!(
                    info.owner == owner,
                    "owner index names another owner's record"
                );
                ensure!(
                    !matches!(info.status, RecordStatus::Erased { .. }),
                    "owner index keeps an erased record"
                );
            }
            for (id, info) in Records::<T>::iter() {
                let erased = matches!(info.status, RecordStatus::Erased { .. });
                ensure!(
                    OwnerRecords::<T>::contains_key(&info.owner, id) != erased,
                    "record missing from (or erased but still in) the owner index"
                );
            }
            for (owner, ()) in AccountRefs::<T>::iter() {
                ensure!(
                    EnrolmentCount::<T>::get(&owner) > 0 || OwnerRecordCount::<T>::get(&owner) > 0,
                    "an account kept for a patient with nothing on chain"
                );
                ensure!(
                    frame_system::Account::<T>::get(&owner).sufficients > 0,
                    "a kept account without its sufficient reference"
                );
            }
            for owner in EnrolmentCount::<T>::iter_keys().chain(OwnerRecordCount::<T>::iter_keys())
            {
                ensure!(
                    AccountRefs::<T>::contains_key(&owner),
                    "a patient with something on chain whose account is not kept"
                );
            }
            Ok(())
        }
    }
}

/// Takes one from a stored counter, removing it at zero (for `mutate_exists`).
pub fn decrement_count(count: &mut Option<u32>) {
    *count = count.map(|c| c.saturating_sub(1)).filter(|c| *c > 0);
}

/// How a stored counter disagrees with the entries it counts.
#[cfg(any(feature = "try-runtime", test))]
pub enum CountProblem {
    /// A zero counter is stored instead of removed.
    Zero,
    /// The counter exceeds its limit.
    OverLimit,
    /// The counter differs from the number of entries.
    Mismatch,
}

/// Checks `(key, counter)` pairs against a limit and against `entries(key)`, the number of
/// entries the counter counts. Shared by the `try_state` checks of MedLedger pallets.
#[cfg(any(feature = "try-runtime", test))]
pub fn check_counts<K>(
    counters: impl Iterator<Item = (K, u32)>,
    limit: u32,
    entries: impl Fn(&K) -> usize,
) -> Result<(), CountProblem> {
    for (key, count) in counters {
        if count == 0 {
            return Err(CountProblem::Zero);
        }
        if count > limit {
            return Err(CountProblem::OverLimit);
        }
        if entries(&key) != count as usize {
            return Err(CountProblem::Mismatch);
        }
    }
    Ok(())
}

/// What the benchmarks need from the runtime.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId, Signature> {
    /// An account that `Config::Custodians` contains.
    fn custodian() -> AccountId;
    /// A patient whose enrolment `sign_enrolment` can sign (on a real runtime, the account of
    /// a key the helper holds).
    fn patient() -> AccountId;
    /// `patient`'s signature over `message`.
    fn sign_enrolment(patient: &AccountId, message: &[u8]) -> Signature;
}

impl<T: Config> RecordRegistry<T::AccountId> for Pallet<T> {
    fn record(id: &RecordId) -> Option<RecordView<T::AccountId>> {
        Records::<T>::get(id).map(|info| RecordView {
            sellable: info.is_sellable(),
            owner: info.owner,
            custodian: info.custodian,
        })
    }

    fn is_enrolled(owner: &T::AccountId, custodian: &T::AccountId) -> bool {
        Enrolments::<T>::contains_key(owner, custodian)
    }

    fn is_patient(owner: &T::AccountId) -> bool {
        AccountRefs::<T>::contains_key(owner)
    }
}
