use crate::{mock::*, *};
use codec::Encode;
use frame_support::{
    assert_noop, assert_ok, dispatch::GetDispatchInfo, traits::Contains, weights::Weight,
    BoundedVec,
};
use pallet_session::{SessionManager, ShouldEndSession};
use sp_runtime::BuildStorage;

fn hospital(n: u64) -> HospitalOf<Test> {
    HospitalInfo {
        name: format!("Hospital {n}").into_bytes().try_into().unwrap(),
        delivery_endpoint: b"https://new.example/".to_vec().try_into().unwrap(),
        peer_ids: vec![peer(n).try_into().unwrap()].try_into().unwrap(),
    }
}

fn regulator(n: u64) -> RegulatorOf<Test> {
    RegulatorInfo {
        name: b"Auditor".to_vec().try_into().unwrap(),
        peer_id: peer(n).try_into().unwrap(),
    }
}

fn add(n: u64) -> ActionOf<Test> {
    Action::AddHospital {
        account: n,
        info: hospital(n),
    }
}

fn propose(who: u64, action: ActionOf<Test>) -> ProposalIndex {
    let index = ProposalCount::<Test>::get();
    assert_ok!(Consortium::propose(RuntimeOrigin::signed(who), action));
    index
}

/// A buyer that is not a member.
const BUYER: u64 = 99;

fn vote(
    who: u64,
    index: ProposalIndex,
    aye: bool,
) -> frame_support::dispatch::DispatchResultWithPostInfo {
    Consortium::vote(RuntimeOrigin::signed(who), index, aye, Weight::zero())
}

fn last_event() -> RuntimeEvent {
    System::events().pop().expect("an event").event
}

fn members() -> Vec<u64> {
    Members::<Test>::get().into_inner()
}

/// Admits hospital `n`: hospital 1 proposes, the others vote aye until it passes.
fn admit(n: u64) {
    let index = propose(1, add(n));
    for voter in members().into_iter().filter(|v| *v != 1) {
        if members().contains(&n) {
            break;
        }
        assert_ok!(vote(voter, index, true));
    }
    assert!(members().contains(&n));
}

#[test]
fn genesis_sets_members_regulators_session_length_and_proposal_lifetime() {
    test(|| {
        assert_eq!(members(), vec![1, 2, 3, 4]);
        assert_eq!(ProposalLifetime::<Test>::get(), LIFETIME);
        assert_eq!(
            Hospitals::<Test>::get(2).unwrap().name.to_vec(),
            b"Hospital 2".to_vec()
        );
        assert!(Regulators::<Test>::contains_key(REGULATOR));
        assert_eq!(SessionLength::<Test>::get(), 5);
        let mut peers = Consortium::authorized_peers();
        peers.sort();
        assert_eq!(peers.len(), 5);
        assert!(peers.contains(&(peer(REGULATOR), PeerRole::Regulator)));
        assert!(peers.contains(&(peer(3), PeerRole::Hospital)));
    });
}

#[test]
fn two_thirds_threshold_is_rounded_up() {
    for eligible in 1..200u32 {
        let t = approval_threshold(eligible);
        assert!(
            3 * t >= 2 * eligible,
            "{t} of {eligible} is less than two thirds"
        );
        assert!(
            3 * (t - 1) < 2 * eligible,
            "{t} of {eligible} is more than needed"
        );
    }
    assert_eq!(approval_threshold(4), 3);
    assert_eq!(approval_threshold(3), 2);
    assert_eq!(approval_threshold(6), 4);
}

#[test]
fn hospital_is_admitted_by_three_of_four() {
    test(|| {
        let index = propose(1, add(5));
        System::assert_has_event(
            Event::Proposed {
                index,
                proposer: Some(1),
                action: add(5),
                threshold: 3,
            }
            .into(),
        );
        System::assert_last_event(
            Event::Voted {
                index,
                voter: 1,
                aye: true,
                ayes: 1,
                nays: 0,
            }
            .into(),
        );
        assert_ok!(vote(2, index, true));
        assert!(!members().contains(&5), "two of four is not enough");
        assert_ok!(vote(3, index, true));
        assert_eq!(members(), vec![1, 2, 3, 4, 5]);
        System::assert_has_event(Event::HospitalAdded { account: 5 }.into());
        System::assert_last_event(
            Event::Executed {
                index,
                result: Ok(()),
            }
            .into(),
        );
        assert!(Proposals::<Test>::get(index).is_none());
        assert_eq!(
            PeerOwners::<Test>::get(BoundedVec::try_from(peer(5)).unwrap()),
            Some((5, PeerRole::Hospital))
        );
        assert!(IsMember::<Test>::contains(&5));
    });
}

#[test]
fn proposal_is_rejected_once_it_cannot_pass() {
    test(|| {
        let index = propose(1, add(5));
        assert_ok!(vote(2, index, false));
        assert!(
            Proposals::<Test>::get(index).is_some(),
            "1 aye, 1 nay: 3 ayes still possible"
        );
        assert_ok!(vote(3, index, false));
        System::assert_last_event(
            Event::Rejected {
                index,
                ayes: 1,
                nays: 2,
            }
            .into(),
        );
        assert!(Proposals::<Test>::get(index).is_none());
        assert_eq!(members(), vec![1, 2, 3, 4]);
    });
}

#[test]
fn non_members_cannot_propose_or_vote() {
    test(|| {
        assert_noop!(
            Consortium::propose(RuntimeOrigin::signed(9), add(5)),
            Error::<Test>::NotMember
        );
        assert_noop!(
            Consortium::propose(RuntimeOrigin::signed(REGULATOR), add(5)),
            Error::<Test>::NotMember
        );
        let index = propose(1, add(5));
        assert_noop!(vote(9, index, true), Error::<Test>::NotMember);
        assert_noop!(vote(REGULATOR, index, true), Error::<Test>::NotMember);
    });
}

#[test]
fn double_vote_is_refused() {
    test(|| {
        let index = propose(1, add(5));
        assert_noop!(vote(1, index, true), Error::<Test>::AlreadyVoted);
        assert_noop!(vote(1, index, false), Error::<Test>::AlreadyVoted);
        assert_ok!(vote(2, index, false));
        assert_noop!(vote(2, index, true), Error::<Test>::AlreadyVoted);
    });
}

#[test]
fn unknown_proposal_is_an_error() {
    test(|| {
        assert_noop!(vote(1, 7, true), Error::<Test>::ProposalNotFound);
        assert_noop!(
            Consortium::close(RuntimeOrigin::signed(1), 7),
            Error::<Test>::ProposalNotFound
        );
    });
}

#[test]
fn expired_proposal_takes_no_votes_and_closes_with_nothing_done() {
    test(|| {
        let index = propose(1, add(5));
        assert_noop!(
            Consortium::close(RuntimeOrigin::signed(9), index),
            Error::<Test>::ProposalNotExpired
        );
        System::set_block_number(1 + LIFETIME);
        assert_ok!(vote(2, index, true)); // the last block of the voting period still counts
        System::set_block_number(2 + LIFETIME);
        assert_noop!(vote(3, index, true), Error::<Test>::ProposalExpired);
        assert_ok!(Consortium::close(RuntimeOrigin::signed(9), index));
        System::assert_last_event(Event::Expired { index }.into());
        assert_eq!(members(), vec![1, 2, 3, 4]);
        assert!(Proposals::<Test>::get(index).is_none());
    });
}

#[test]
fn proposal_lifetime_defaults_when_genesis_leaves_it_out() {
    let storage = RuntimeGenesisConfig {
        system: Default::default(),
        balances: Default::default(),
        consortium: crate::GenesisConfig::default(),
    }
    .build_storage()
    .expect("an empty genesis builds");
    sp_io::TestExternalities::new(storage).execute_with(|| {
        assert_eq!(
            ProposalLifetime::<Test>::get(),
            DefaultProposalLifetime::get()
        );
    });
}

#[test]
fn root_sets_the_lifetime_of_new_proposals_only() {
    test(|| {
        let old = propose(1, add(5));
        assert_ok!(Consortium::set_proposal_lifetime(RuntimeOrigin::root(), 3));
        System::assert_last_event(Event::ProposalLifetimeSet { blocks: 3 }.into());
        let new = propose(1, add(6));
        assert_eq!(Proposals::<Test>::get(new).unwrap().expires_at, 1 + 3);
        assert_eq!(
            Proposals::<Test>::get(old).unwrap().expires_at,
            1 + LIFETIME
        );
        System::set_block_number(5);
        assert_noop!(vote(2, new, true), Error::<Test>::ProposalExpired);
        assert_ok!(vote(2, old, true));
    });
}

#[test]
fn proposal_lifetime_is_set_only_by_root_and_never_to_zero() {
    test(|| {
        assert_noop!(
            Consortium::set_proposal_lifetime(RuntimeOrigin::signed(1), 3),
            sp_runtime::DispatchError::BadOrigin
        );
        assert_noop!(
            Consortium::set_proposal_lifetime(RuntimeOrigin::root(), 0),
            Error::<Test>::ZeroProposalLifetime
        );
        assert_eq!(ProposalLifetime::<Test>::get(), LIFETIME);
    });
}

#[test]
fn removal_below_four_members_is_refused() {
    test(|| {
        assert_noop!(
            Consortium::propose(
                RuntimeOrigin::signed(1),
                Action::RemoveHospital { account: 4 }
            ),
            Error::<Test>::TooFewMembers
        );
    });
}

#[test]
fn removed_hospital_does_not_vote_on_its_own_removal() {
    test(|| {
        admit(5);
        let index = propose(1, Action::RemoveHospital { account: 5 });
        // Four entitled voters (1..=4): threshold 3.
        System::assert_has_event(
            Event::Proposed {
                index,
                proposer: Some(1),
                action: Action::RemoveHospital { account: 5 },
                threshold: 3,
            }
            .into(),
        );
        assert_noop!(vote(5, index, false), Error::<Test>::NotEntitledToVote);
        assert_ok!(vote(2, index, true));
        assert_ok!(vote(3, index, true));
        assert_eq!(members(), vec![1, 2, 3, 4]);
        System::assert_has_event(Event::HospitalRemoved { account: 5 }.into());
        assert!(Hospitals::<Test>::get(5).is_none());
        assert!(PeerOwners::<Test>::get(BoundedVec::try_from(peer(5)).unwrap()).is_none());
    });
}

#[test]
fn removal_that_would_leave_too_few_validators_is_refused() {
    test(|| {
        admit(5);
        // Five members, two without session keys: removing a keyed one would leave two
        // validators' worth of keys, and the session manager would keep the removed hospital.
        UNKEYED.with(|u| u.borrow_mut().extend([2, 3]));
        assert_noop!(
            Consortium::propose(
                RuntimeOrigin::signed(1),
                Action::RemoveHospital { account: 4 }
            ),
            Error::<Test>::TooFewValidators
        );
        // A member without keys validates nothing: its removal is fine.
        propose(1, Action::RemoveHospital { account: 3 });
        // Keys registered again: the keyed member may go.
        UNKEYED.with(|u| u.borrow_mut().clear());
        propose(1, Action::RemoveHospital { account: 4 });
        assert_eq!(Consortium::members_with_keys(), 5);
    });
}

#[test]
fn hospital_proposing_its_own_removal_casts_no_vote() {
    test(|| {
        admit(5);
        let index = propose(5, Action::RemoveHospital { account: 5 });
        let proposal = Proposals::<Test>::get(index).unwrap();
        assert!(proposal.ayes.is_empty() && proposal.nays.is_empty());
    });
}

#[test]
fn removal_that_became_invalid_executes_with_an_error() {
    test(|| {
        admit(5);
        let remove_4 = propose(1, Action::RemoveHospital { account: 4 });
        let remove_5 = propose(1, Action::RemoveHospital { account: 5 });
        assert_ok!(vote(2, remove_5, true));
        assert_ok!(vote(3, remove_5, true));
        assert_eq!(members(), vec![1, 2, 3, 4]);
        // Removing 4 too would leave three hospitals: it passes the vote (2 of the 3 entitled
        // voters) but is not carried out.
        assert_ok!(vote(2, remove_4, true));
        System::assert_last_event(
            Event::Executed {
                index: remove_4,
                result: Err(Error::<Test>::TooFewMembers.into()),
            }
            .into(),
        );
        assert_eq!(members(), vec![1, 2, 3, 4]);
    });
}

#[test]
fn add_hospital_checks_membership_capacity_and_peer_ids() {
    test(|| {
        assert_noop!(
            Consortium::propose(RuntimeOrigin::signed(1), add(2)),
            Error::<Test>::AlreadyMember
        );
        let mut taken = hospital(7);
        taken.peer_ids = vec![BoundedVec::try_from(peer(3)).unwrap()]
            .try_into()
            .unwrap();
        assert_noop!(
            Consortium::propose(
                RuntimeOrigin::signed(1),
                Action::AddHospital {
                    account: 7,
                    info: taken
                }
            ),
            Error::<Test>::PeerIdInUse
        );
        let mut twice = hospital(7);
        twice.peer_ids = vec![peer(7).try_into().unwrap(), peer(7).try_into().unwrap()]
            .try_into()
            .unwrap();
        assert_noop!(
            Consortium::propose(
                RuntimeOrigin::signed(1),
                Action::AddHospital {
                    account: 7,
                    info: twice
                }
            ),
            Error::<Test>::PeerIdInUse
        );
        let mut none = hospital(7);
        none.peer_ids = Default::default();
        assert_noop!(
            Consortium::propose(
                RuntimeOrigin::signed(1),
                Action::AddHospital {
                    account: 7,
                    info: none
                }
            ),
            Error::<Test>::NoPeerIds
        );
        admit(5);
        admit(6);
        assert_noop!(
            Consortium::propose(RuntimeOrigin::signed(1), add(7)),
            Error::<Test>::TooManyMembers
        );
    });
}

#[test]
fn regulators_are_added_and_removed_by_vote() {
    test(|| {
        assert_noop!(
            Consortium::propose(
                RuntimeOrigin::signed(1),
                Action::AddRegulator {
                    account: 101,
                    info: regulator(1)
                }
            ),
            Error::<Test>::PeerIdInUse
        );
        let add_reg = Action::AddRegulator {
            account: 101,
            info: regulator(101),
        };
        let index = propose(1, add_reg);
        assert_ok!(vote(2, index, true));
        assert_ok!(vote(4, index, true));
        System::assert_has_event(Event::RegulatorAdded { account: 101 }.into());
        assert!(Regulators::<Test>::contains_key(101));
        assert!(!Consortium::is_member(&101), "a regulator holds no vote");

        assert_noop!(
            Consortium::propose(
                RuntimeOrigin::signed(1),
                Action::AddRegulator {
                    account: 101,
                    info: regulator(102)
                }
            ),
            Error::<Test>::AlreadyRegulator
        );
        assert_noop!(
            Consortium::propose(
                RuntimeOrigin::signed(1),
                Action::AddRegulator {
                    account: 102,
                    info: regulator(102)
                }
            ),
            Error::<Test>::TooManyRegulators
        );
        assert_noop!(
            Consortium::propose(
                RuntimeOrigin::signed(1),
                Action::RemoveRegulator { account: 102 }
            ),
            Error::<Test>::NotRegulator
        );

        let index = propose(2, Action::RemoveRegulator { account: 101 });
        assert_ok!(vote(3, index, true));
        assert_ok!(vote(4, index, true));
        System::assert_has_event(Event::RegulatorRemoved { account: 101 }.into());
        assert!(!Regulators::<Test>::contains_key(101));
        assert!(PeerOwners::<Test>::get(BoundedVec::try_from(peer(101)).unwrap()).is_none());
    });
}

fn set_storage_call() -> RuntimeCall {
    RuntimeCall::System(frame_system::Call::set_storage {
        items: vec![(b":medledger:test".to_vec(), b"root".to_vec())],
    })
}

fn root_action(call: &RuntimeCall) -> ActionOf<Test> {
    Action::DispatchAsRoot {
        call: call.encode().try_into().unwrap(),
    }
}

#[test]
fn root_proposal_dispatches_its_call_as_root() {
    test(|| {
        let call = set_storage_call();
        let weight = frame_support::dispatch::GetDispatchInfo::get_dispatch_info(&call).call_weight;
        let index = propose(1, root_action(&call));
        assert_ok!(vote(2, index, true));
        // The deciding vote must bound the call's weight.
        assert_noop!(vote(3, index, true), Error::<Test>::CallWeightAboveBound);
        assert_ok!(Consortium::vote(
            RuntimeOrigin::signed(3),
            index,
            true,
            weight
        ));
        System::assert_last_event(
            Event::Executed {
                index,
                result: Ok(()),
            }
            .into(),
        );
        assert_eq!(
            sp_io::storage::get(b":medledger:test").map(|v| v.to_vec()),
            Some(b"root".to_vec())
        );
    });
}

#[test]
fn root_call_that_fails_reports_its_error() {
    test(|| {
        // `remark_with_event` needs a signed origin: as Root it fails with BadOrigin.
        let call = RuntimeCall::System(frame_system::Call::remark_with_event {
            remark: b"hi".to_vec(),
        });
        let weight = frame_support::dispatch::GetDispatchInfo::get_dispatch_info(&call).call_weight;
        let index = propose(1, root_action(&call));
        assert_ok!(Consortium::vote(
            RuntimeOrigin::signed(2),
            index,
            true,
            weight
        ));
        assert_ok!(Consortium::vote(
            RuntimeOrigin::signed(3),
            index,
            true,
            weight
        ));
        assert_eq!(
            last_event(),
            RuntimeEvent::Consortium(Event::Executed {
                index,
                result: Err(sp_runtime::DispatchError::BadOrigin)
            })
        );
    });
}

#[test]
fn undecodable_root_call_is_refused() {
    test(|| {
        let action = Action::DispatchAsRoot {
            call: vec![0xff, 0xff, 0xff].try_into().unwrap(),
        };
        assert_noop!(
            Consortium::propose(RuntimeOrigin::signed(1), action),
            Error::<Test>::UndecodableCall
        );
    });
}

#[test]
fn disputes_are_not_proposable() {
    test(|| {
        assert_noop!(
            Consortium::propose(RuntimeOrigin::signed(1), Action::DecideDispute { order: 3 }),
            Error::<Test>::DisputeNotProposable
        );
    });
}

/// The last event opened the vote `index` on `order`'s dispute, passing with `threshold` ayes.
fn assert_dispute_vote_opened(index: ProposalIndex, order: u64, threshold: u32) {
    System::assert_last_event(
        Event::Proposed {
            index,
            proposer: None,
            action: Action::DecideDispute { order },
            threshold,
        }
        .into(),
    );
}

#[test]
fn dispute_excludes_the_custodian_and_buyer_wins_with_two_thirds() {
    test(|| {
        let index = Consortium::open_dispute(42, 4, BUYER).unwrap();
        assert_dispute_vote_opened(index, 42, 2);
        assert_noop!(vote(4, index, false), Error::<Test>::NotEntitledToVote);
        assert_ok!(vote(1, index, true));
        assert_ok!(vote(2, index, true));
        System::assert_has_event(
            Event::DisputeDecided {
                index,
                order: 42,
                outcome: DisputeOutcome::BuyerWins,
            }
            .into(),
        );
        assert_eq!(
            DECISIONS.with(|d| d.borrow().clone()),
            vec![(42, DisputeOutcome::BuyerWins)]
        );
    });
}

#[test]
fn a_member_hospital_that_bought_does_not_vote_on_its_dispute() {
    test(|| {
        let index = Consortium::open_dispute(42, 4, 3).unwrap();
        // Four members, custodian 4 and buyer 3 excluded: both others must agree.
        assert_dispute_vote_opened(index, 42, 2);
        assert_noop!(vote(3, index, true), Error::<Test>::NotEntitledToVote);
        assert_noop!(vote(4, index, false), Error::<Test>::NotEntitledToVote);
        assert_ok!(vote(1, index, true));
        assert!(DECISIONS.with(|d| d.borrow().is_empty()));
        assert_ok!(vote(2, index, true));
        assert_eq!(
            DECISIONS.with(|d| d.borrow().clone()),
            vec![(42, DisputeOutcome::BuyerWins)]
        );
    });
}

#[test]
fn dispute_goes_to_the_custodian_when_the_buyer_cannot_win() {
    test(|| {
        let index = Consortium::open_dispute(7, 1, BUYER).unwrap();
        assert_ok!(vote(2, index, false));
        assert_ok!(vote(3, index, false));
        assert_eq!(
            DECISIONS.with(|d| d.borrow().clone()),
            vec![(7, DisputeOutcome::CustodianWins)]
        );
        System::assert_has_event(
            Event::Rejected {
                index,
                ayes: 0,
                nays: 2,
            }
            .into(),
        );
    });
}

#[test]
fn the_member_list_is_paid_for_once_per_block_and_a_vote_that_changes_it_pays_the_write() {
    use frame_support::traits::{Hooks, WhitelistedStorageKeys};
    test(|| {
        // Benchmarks leave the member list out of every call's weight ...
        let whitelisted: Vec<Vec<u8>> = Consortium::whitelisted_storage_keys()
            .into_iter()
            .map(|tracked| tracked.key)
            .collect();
        assert_eq!(whitelisted, vec![Members::<Test>::hashed_key().to_vec()]);
        // ... so each block pays its first read ...
        let db = <Test as frame_system::Config>::DbWeight::get();
        assert!(db.write > 0, "the mock prices storage");
        assert_eq!(Consortium::on_initialize(1), db.reads(1));
        // ... and the vote that adds or removes a hospital pays the write.
        let vote_weight = <Test as Config>::WeightInfo::vote(<Test as Config>::MaxMembers::get());
        let index = propose(1, add(5));
        assert_eq!(
            vote(2, index, true).unwrap().actual_weight,
            Some(vote_weight)
        );
        assert_eq!(
            vote(3, index, true).unwrap().actual_weight,
            Some(vote_weight.saturating_add(db.writes(1)))
        );
        assert!(members().contains(&5));
        let index = propose(1, Action::RemoveHospital { account: 5 });
        assert_ok!(vote(2, index, true));
        assert_eq!(
            vote(3, index, true).unwrap().actual_weight,
            Some(vote_weight.saturating_add(db.writes(1)))
        );
        assert!(!members().contains(&5));
    });
}

#[test]
fn the_vote_that_decides_a_dispute_pays_for_the_decision() {
    test(|| {
        let vote_weight = <Test as Config>::WeightInfo::vote(<Test as Config>::MaxMembers::get());
        let declared = Call::<Test>::vote {
            index: 0,
            aye: true,
            call_weight_bound: Weight::zero(),
        }
        .get_dispatch_info()
        .call_weight;
        assert_eq!(declared, vote_weight.saturating_add(DECISION_WEIGHT));

        // Buyer wins: the second aye decides.
        let index = Consortium::open_dispute(42, 4, BUYER).unwrap();
        let first = vote(1, index, true).unwrap();
        assert_eq!(first.actual_weight, Some(vote_weight));
        let deciding = vote(2, index, true).unwrap();
        assert_eq!(
            deciding.actual_weight,
            Some(vote_weight.saturating_add(DECISION_WEIGHT))
        );
        // Custodian wins: the nay after which the buyer cannot win decides.
        let index = Consortium::open_dispute(7, 1, BUYER).unwrap();
        assert_eq!(
            vote(2, index, false).unwrap().actual_weight,
            Some(vote_weight)
        );
        assert_eq!(
            vote(3, index, false).unwrap().actual_weight,
            Some(vote_weight.saturating_add(DECISION_WEIGHT))
        );
        assert_eq!(
            DECISIONS.with(|d| d.borrow().clone()),
            vec![
                (42, DisputeOutcome::BuyerWins),
                (7, DisputeOutcome::CustodianWins)
            ]
        );
    });
}

#[test]
fn a_decision_that_fails_changes_nothing_and_the_vote_still_ends() {
    test(|| {
        let index = Consortium::open_dispute(FAILING_ORDER, 4, BUYER).unwrap();
        assert_ok!(vote(1, index, true));
        assert_ok!(vote(2, index, true));
        // The mock escrow wrote before it failed; none of it stays.
        assert_eq!(
            frame_support::storage::unhashed::get::<u64>(DECIDED_KEY),
            None
        );
        assert_eq!(
            DECISIONS.with(|d| d.borrow().clone()),
            vec![(FAILING_ORDER, DisputeOutcome::BuyerWins)]
        );
        assert!(Proposals::<Test>::get(index).is_none());
        assert!(DisputeVotes::<Test>::get(FAILING_ORDER).is_none());
        System::assert_has_event(
            Event::DisputeDecided {
                index,
                order: FAILING_ORDER,
                outcome: DisputeOutcome::BuyerWins,
            }
            .into(),
        );
        // A decision that succeeds does write.
        let index = Consortium::open_dispute(42, 4, BUYER).unwrap();
        assert_ok!(vote(1, index, true));
        assert_ok!(vote(2, index, true));
        assert_eq!(
            frame_support::storage::unhashed::get::<u64>(DECIDED_KEY),
            Some(42)
        );
    });
}

#[test]
fn expired_dispute_reports_expired() {
    test(|| {
        let index = Consortium::open_dispute(9, 2, BUYER).unwrap();
        System::set_block_number(2 + LIFETIME);
        assert_ok!(Consortium::close(RuntimeOrigin::signed(55), index));
        assert_eq!(
            DECISIONS.with(|d| d.borrow().clone()),
            vec![(9, DisputeOutcome::Expired)]
        );
    });
}

#[test]
fn closing_a_dispute_drops_its_vote_only() {
    test(|| {
        let dispute = Consortium::open_dispute(5, 1, BUYER).unwrap();
        let other = propose(1, add(5));
        Consortium::close_dispute(5);
        System::assert_last_event(Event::Expired { index: dispute }.into());
        assert!(Proposals::<Test>::get(dispute).is_none());
        assert!(Proposals::<Test>::get(other).is_some());
        assert!(
            DECISIONS.with(|d| d.borrow().is_empty()),
            "closing decides nothing"
        );
    });
}

#[test]
fn open_proposals_are_bounded_and_a_full_table_does_not_block_a_buyers_dispute() {
    test(|| {
        // The custodian (hospital 1) and a friend (2) fill the members' table.
        for n in 5..9 {
            propose(
                1 + n % 2,
                Action::AddRegulator {
                    account: n,
                    info: regulator(n),
                },
            );
        }
        assert_noop!(
            Consortium::propose(RuntimeOrigin::signed(3), add(9)),
            Error::<Test>::TooManyProposals
        );
        let index = Consortium::open_dispute(1, 1, BUYER).unwrap();
        assert_eq!(DisputeVotes::<Test>::get(1), Some(index));
        // Disputes do not take members' places either.
        assert_noop!(
            Consortium::propose(RuntimeOrigin::signed(2), add(9)),
            Error::<Test>::TooManyProposals
        );
    });
}

#[test]
fn one_member_cannot_crowd_out_the_others_proposals() {
    test(|| {
        let regulators: Vec<_> = (5..8)
            .map(|n| {
                propose(
                    1,
                    Action::AddRegulator {
                        account: n,
                        info: regulator(n),
                    },
                )
            })
            .collect();
        assert_eq!(OpenProposalsBy::<Test>::get(1), 3);
        assert_noop!(
            Consortium::propose(RuntimeOrigin::signed(1), add(9)),
            Error::<Test>::TooManyProposalsByMember
        );
        // Another member still has room in the table.
        propose(2, add(9));
        // A decided proposal frees its proposer's place.
        for v in [2, 3] {
            assert_ok!(vote(v, regulators[0], true));
        }
        assert_eq!(OpenProposalsBy::<Test>::get(1), 2);
        propose(1, add(10));
    });
}

#[test]
fn dispute_votes_have_their_own_bound_and_one_per_order() {
    test(|| {
        for order in 0..3 {
            assert_ok!(Consortium::open_dispute(order, 1, BUYER));
        }
        assert_noop!(
            Consortium::open_dispute(0, 1, BUYER),
            Error::<Test>::DisputeAlreadyOpen
        );
        assert_noop!(
            Consortium::open_dispute(3, 1, BUYER),
            Error::<Test>::TooManyDisputes
        );
        // A decided dispute leaves the queue: the next buyer's dispute fits.
        let decided = DisputeVotes::<Test>::get(0).unwrap();
        // Three members vote (the custodian does not): two ayes decide.
        for v in [2, 3] {
            assert_ok!(vote(v, decided, true));
        }
        assert_eq!(DisputeVotes::<Test>::get(0), None);
        assert_ok!(Consortium::open_dispute(3, 1, BUYER));
        // So does a dropped one.
        Consortium::close_dispute(1);
        assert_eq!(DisputeVotes::<Test>::count(), 2);
        assert_ok!(Consortium::open_dispute(4, 1, BUYER));
    });
}

#[test]
fn votes_of_removed_members_no_longer_count() {
    test(|| {
        admit(5);
        admit(6);
        // 6 members: threshold 4. Hospital 6 votes aye, then is removed.
        let index = propose(
            1,
            Action::AddRegulator {
                account: 101,
                info: regulator(101),
            },
        );
        assert_ok!(vote(6, index, true));
        let removal = propose(1, Action::RemoveHospital { account: 6 });
        for v in [2, 3, 4] {
            assert_ok!(vote(v, removal, true));
        }
        assert!(!members().contains(&6));
        // 5 members now: threshold 4, counted ayes 1 (hospital 1); 2 more make 3: not enough.
        assert_ok!(vote(2, index, true));
        assert_ok!(vote(3, index, true));
        assert!(!Regulators::<Test>::contains_key(101));
        assert_ok!(vote(4, index, true));
        assert!(Regulators::<Test>::contains_key(101));
    });
}

#[test]
fn hospital_updates_its_own_record() {
    test(|| {
        let mut info = hospital(3);
        info.peer_ids = vec![peer(30).try_into().unwrap(), peer(31).try_into().unwrap()]
            .try_into()
            .unwrap();
        assert_ok!(Consortium::update_hospital(
            RuntimeOrigin::signed(3),
            info.clone()
        ));
        System::assert_last_event(Event::HospitalUpdated { account: 3 }.into());
        assert_eq!(Hospitals::<Test>::get(3), Some(info));
        assert!(
            PeerOwners::<Test>::get(BoundedVec::try_from(peer(3)).unwrap()).is_none(),
            "old peer id revoked"
        );

        assert_noop!(
            Consortium::update_hospital(RuntimeOrigin::signed(9), hospital(9)),
            Error::<Test>::NotMember
        );
        let mut stolen = hospital(3);
        stolen.peer_ids = vec![peer(2).try_into().unwrap()].try_into().unwrap();
        assert_noop!(
            Consortium::update_hospital(RuntimeOrigin::signed(3), stolen),
            Error::<Test>::PeerIdInUse
        );
        let mut empty = hospital(3);
        empty.peer_ids = Default::default();
        assert_noop!(
            Consortium::update_hospital(RuntimeOrigin::signed(3), empty),
            Error::<Test>::NoPeerIds
        );
    });
}

#[test]
fn regulator_moves_its_node() {
    test(|| {
        let new_peer: PeerIdOf<Test> = peer(200).try_into().unwrap();
        assert_ok!(Consortium::update_regulator_peer(
            RuntimeOrigin::signed(REGULATOR),
            new_peer.clone()
        ));
        System::assert_last_event(Event::RegulatorUpdated { account: REGULATOR }.into());
        assert_eq!(
            PeerOwners::<Test>::get(&new_peer),
            Some((REGULATOR, PeerRole::Regulator))
        );
        assert!(PeerOwners::<Test>::get(BoundedVec::try_from(peer(REGULATOR)).unwrap()).is_none());
        assert_noop!(
            Consortium::update_regulator_peer(RuntimeOrigin::signed(1), new_peer.clone()),
            Error::<Test>::NotRegulator
        );
        Regulators::<Test>::insert(
            300,
            RegulatorInfo {
                name: Default::default(),
                peer_id: peer(300).try_into().unwrap(),
            },
        );
        PeerOwners::<Test>::insert(
            BoundedVec::try_from(peer(300)).unwrap(),
            (300, PeerRole::Regulator),
        );
        assert_noop!(
            Consortium::update_regulator_peer(RuntimeOrigin::signed(300), new_peer),
            Error::<Test>::PeerIdInUse
        );
    });
}

#[test]
fn sessions_queue_the_members_with_keys_and_turn_every_session_length_blocks() {
    test(|| {
        admit(5);
        UNKEYED.with(|u| u.borrow_mut().push(3));
        assert_eq!(
            <Consortium as SessionManager<u64>>::new_session(1),
            Some(vec![1, 2, 4, 5])
        );
        assert_eq!(
            QueuedValidators::<Test>::get().into_inner(),
            vec![1, 2, 4, 5]
        );
        let turns: Vec<u64> = (1..=20)
            .filter(|n| <Consortium as ShouldEndSession<u64>>::should_end_session(*n))
            .collect();
        assert_eq!(turns, vec![5, 10, 15, 20]);
        let (next, _) =
            <Consortium as EstimateNextSessionRotation<u64>>::estimate_next_session_rotation(7);
        assert_eq!(next, Some(10));
    });
}

#[test]
fn a_session_with_the_queued_validators_unchanged_reports_no_change() {
    test(|| {
        admit(5);
        let queued = |validators: &[u64]| {
            SESSION_QUEUE.with(|q| *q.borrow_mut() = Some(validators.to_vec()))
        };
        queued(&[1, 2, 3, 4]);
        assert_eq!(
            <Consortium as SessionManager<u64>>::new_session(1),
            Some(vec![1, 2, 3, 4, 5])
        );
        // The session pallet now holds the five: the next session keeps them.
        queued(&[1, 2, 3, 4, 5]);
        assert_eq!(<Consortium as SessionManager<u64>>::new_session(2), None);
        assert_eq!(
            QueuedValidators::<Test>::get().into_inner(),
            vec![1, 2, 3, 4, 5]
        );
        // A member without keys changes the set again.
        UNKEYED.with(|u| u.borrow_mut().push(5));
        assert_eq!(
            <Consortium as SessionManager<u64>>::new_session(3),
            Some(vec![1, 2, 3, 4])
        );
        queued(&[1, 2, 3, 4]);
    });
}

#[test]
fn sessions_keep_the_validators_while_fewer_than_min_members_have_keys() {
    test(|| {
        admit(5);
        assert_eq!(
            <Consortium as SessionManager<u64>>::new_session(1),
            Some(vec![1, 2, 3, 4, 5])
        );
        // Two of five purge their keys: three keyed members are fewer than MinMembers (4).
        UNKEYED.with(|u| u.borrow_mut().extend([2, 4]));
        assert_eq!(<Consortium as SessionManager<u64>>::new_session(2), None);
        System::assert_last_event(
            Event::ValidatorSetKept {
                session: 2,
                members_with_keys: 3,
            }
            .into(),
        );
        assert_eq!(
            QueuedValidators::<Test>::get().into_inner(),
            vec![1, 2, 3, 4, 5]
        );
        // None left with keys: the chain keeps its validators instead of queuing nobody.
        UNKEYED.with(|u| u.borrow_mut().extend([1, 3, 5]));
        assert_eq!(<Consortium as SessionManager<u64>>::new_session(3), None);
        // Keys back: the keyed members are queued again.
        UNKEYED.with(|u| u.borrow_mut().clear());
        assert_eq!(
            <Consortium as SessionManager<u64>>::new_session(4),
            Some(vec![1, 2, 3, 4, 5])
        );
    });
}

#[test]
fn try_state_detects_corruption() {
    new_test_ext().execute_with(|| {
        Members::<Test>::put(BoundedVec::try_from(vec![1, 2, 3, 4, 5]).unwrap());
        assert!(
            Consortium::do_try_state().is_err(),
            "member without a hospital record"
        );
    });
    new_test_ext().execute_with(|| {
        PeerOwners::<Test>::insert(
            BoundedVec::try_from(peer(77)).unwrap(),
            (77, PeerRole::Hospital),
        );
        assert!(Consortium::do_try_state().is_err(), "stale peer id");
    });
    new_test_ext().execute_with(|| {
        ProposalLifetime::<Test>::put(0);
        assert!(
            Consortium::do_try_state().is_err(),
            "zero proposal lifetime"
        );
    });
}

/// What the consortium holds from `who` for its open proposals.
fn held(who: u64) -> u64 {
    use frame_support::traits::fungible::InspectHold;
    Balances::balance_on_hold(&HoldReason::ProposalDeposit.into(), &who)
}

#[test]
fn a_proposal_holds_its_deposit_until_it_passes() {
    test(|| {
        let action = add(5);
        let deposit = DEPOSIT_BASE + DEPOSIT_PER_BYTE * action.encoded_size() as u64;
        assert_eq!(Consortium::deposit_for(&action), deposit);
        let index = propose(1, action);
        assert_eq!(Proposals::<Test>::get(index).unwrap().deposit, deposit);
        assert_eq!(held(1), deposit);
        assert_eq!(Balances::free_balance(1), INITIAL_BALANCE - deposit);
        assert_ok!(vote(2, index, true));
        assert_ok!(vote(3, index, true));
        assert!(members().contains(&5));
        assert_eq!(held(1), 0);
        assert_eq!(Balances::free_balance(1), INITIAL_BALANCE);
    });
}

#[test]
fn a_rejected_or_expired_proposal_returns_its_deposit() {
    test(|| {
        let rejected = propose(1, add(5));
        let expiring = propose(2, add(6));
        assert!(held(1) > 0 && held(2) > 0);
        assert_ok!(vote(2, rejected, false));
        assert_ok!(vote(3, rejected, false));
        assert!(!Proposals::<Test>::contains_key(rejected));
        assert_eq!(held(1), 0);

        System::set_block_number(1 + LIFETIME + 1);
        assert_ok!(Consortium::close(
            RuntimeOrigin::signed(REGULATOR),
            expiring
        ));
        assert_eq!(held(2), 0);
        assert_eq!(Balances::free_balance(2), INITIAL_BALANCE);
    });
}

#[test]
fn a_larger_action_holds_a_larger_deposit() {
    test(|| {
        let small = root_action(&RuntimeCall::System(frame_system::Call::remark {
            remark: vec![0; 10],
        }));
        let large = root_action(&RuntimeCall::System(frame_system::Call::remark {
            remark: vec![0; 500],
        }));
        let extra = Consortium::deposit_for(&large) - Consortium::deposit_for(&small);
        assert!(extra >= 490 * DEPOSIT_PER_BYTE, "490 more bytes: {extra}");
        propose(1, small.clone());
        propose(1, large.clone());
        assert_eq!(
            held(1),
            Consortium::deposit_for(&small) + Consortium::deposit_for(&large)
        );
    });
}

#[test]
fn a_member_that_cannot_hold_the_deposit_cannot_propose() {
    test(|| {
        admit(7);
        assert_eq!(Balances::free_balance(7), 0);
        assert_noop!(
            Consortium::propose(RuntimeOrigin::signed(7), add(6)),
            Error::<Test>::CannotHoldDeposit
        );
    });
}

#[test]
fn disputes_hold_no_deposit() {
    test(|| {
        let index = Consortium::open_dispute(7, 1, BUYER).expect("the dispute opens");
        assert_eq!(Proposals::<Test>::get(index).unwrap().deposit, 0);
        assert_eq!((1..=4).map(held).sum::<u64>(), 0);
    });
}

#[test]
fn try_state_detects_a_deposit_that_is_not_held() {
    new_test_ext().execute_with(|| {
        let index = propose(1, add(5));
        Proposals::<Test>::mutate(index, |p| p.as_mut().unwrap().deposit += 1);
        assert!(Consortium::do_try_state().is_err());
    });
}
