//! Benchmarks of the consortium's calls, each in its worst case: the most members, the most
//! peer ids, and the vote that passes and carries out an admission.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::{
    traits::fungible::{Inspect, Mutate},
    weights::Weight,
    BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use sp_runtime::traits::Saturating;

fn peer_id<T: Config>(owner: &str, n: u32, j: u32) -> PeerIdOf<T> {
    BoundedVec::truncate_from(alloc::format!("bench-{owner}-{n}-{j}").into_bytes())
}

fn hospital_info<T: Config>(n: u32, peers: u32) -> HospitalOf<T> {
    HospitalInfo {
        name: BoundedVec::truncate_from(b"Benchmark Hospital".to_vec()),
        delivery_endpoint: BoundedVec::truncate_from(b"https://bench.example/".to_vec()),
        peer_ids: BoundedVec::truncate_from(
            (0..peers).map(|j| peer_id::<T>("hospital", n, j)).collect(),
        ),
    }
}

/// Admits hospitals until the consortium has `m` members, each able to hold the deposits of
/// its most open proposals of the largest size; returns the members.
fn members_up_to<T: Config>(m: u32) -> Vec<T::AccountId> {
    let mut n = 0;
    while (Members::<T>::decode_len().unwrap_or(0) as u32) < m {
        let who: T::AccountId = account("hospital", n, 0);
        Pallet::<T>::insert_hospital(who, hospital_info::<T>(n, 1))
            .expect("fresh account and peer ids");
        n += 1;
    }
    let largest = T::ProposalDepositBase::get().saturating_add(
        T::ProposalDepositPerByte::get()
            .saturating_mul((T::MaxCallLen::get().saturating_add(1_024)).into()),
    );
    let funds = largest
        .saturating_mul(T::MaxProposalsPerMember::get().into())
        .saturating_add(T::Currency::minimum_balance());
    let members = Members::<T>::get().into_inner();
    for member in &members {
        T::Currency::mint_into(member, funds).expect("members are funded");
    }
    members
}

fn newcomer<T: Config>() -> ActionOf<T> {
    Action::AddHospital {
        account: account("newcomer", 0, 0),
        info: hospital_info::<T>(u32::MAX, T::MaxPeersPerHospital::get()),
    }
}

fn assert_last_event<T: Config>(event: Event<T>) {
    let event: <T as frame_system::Config>::RuntimeEvent = event.into();
    let last = frame_system::Pallet::<T>::events()
        .pop()
        .expect("the call deposited an event");
    assert_eq!(last.event, event);
}

#[benchmarks(where <T as frame_system::Config>::RuntimeEvent: From<Event<T>>)]
mod benchmarks {
    use super::*;

    /// Proposing an admission with the most peer ids to check, among `m` members.
    #[benchmark]
    fn propose(m: Linear<4, { T::MaxMembers::get().saturating_sub(1) }>) {
        let members = members_up_to::<T>(m);
        let proposer = members[0].clone();
        let index = ProposalCount::<T>::get();

        #[extrinsic_call]
        _(RawOrigin::Signed(proposer.clone()), newcomer::<T>());

        let proposal = Proposals::<T>::get(index).expect("proposal stored");
        assert_eq!(proposal.ayes.into_inner(), alloc::vec![proposer]);
    }

    /// The vote that passes an admission and carries it out, among `m` members.
    #[benchmark]
    fn vote(m: Linear<4, { T::MaxMembers::get().saturating_sub(1) }>) {
        let members = members_up_to::<T>(m);
        let index = ProposalCount::<T>::get();
        Pallet::<T>::propose(
            RawOrigin::Signed(members[0].clone()).into(),
            newcomer::<T>(),
        )
        .expect("a member proposes");
        let threshold = approval_threshold(m) as usize;
        for voter in &members[1..threshold - 1] {
            Pallet::<T>::vote(
                RawOrigin::Signed(voter.clone()).into(),
                index,
                true,
                Weight::zero(),
            )
            .expect("a member votes");
        }
        let decider = members[threshold - 1].clone();

        #[extrinsic_call]
        _(RawOrigin::Signed(decider), index, true, Weight::zero());

        assert_last_event::<T>(Event::Executed {
            index,
            result: Ok(()),
        });
    }

    #[benchmark]
    fn close() {
        let members = members_up_to::<T>(T::MinMembers::get());
        let index = ProposalCount::<T>::get();
        Pallet::<T>::propose(
            RawOrigin::Signed(members[0].clone()).into(),
            newcomer::<T>(),
        )
        .expect("a member proposes");
        let expires_at = Proposals::<T>::get(index).expect("open").expires_at;
        frame_system::Pallet::<T>::set_block_number(expires_at + One::one());
        let caller: T::AccountId = whitelisted_caller();

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), index);

        assert_last_event::<T>(Event::Expired { index });
    }

    /// A member replacing `p` peer ids with `p` new ones.
    #[benchmark]
    fn update_hospital(p: Linear<1, { T::MaxPeersPerHospital::get() }>) {
        let members = members_up_to::<T>(T::MinMembers::get());
        let who = members[0].clone();
        Pallet::<T>::update_hospital(
            RawOrigin::Signed(who.clone()).into(),
            hospital_info::<T>(1_000, p),
        )
        .expect("a member updates its record");
        let info = hospital_info::<T>(2_000, p);

        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), info.clone());

        assert_eq!(Hospitals::<T>::get(&who), Some(info));
    }

    #[benchmark]
    fn update_regulator_peer() {
        let who: T::AccountId = account("regulator", 0, 0);
        let info = RegulatorInfo {
            name: BoundedVec::truncate_from(b"Benchmark Regulator".to_vec()),
            peer_id: peer_id::<T>("regulator", 0, 0),
        };
        Pallet::<T>::insert_regulator(who.clone(), info).expect("fresh regulator");
        let new_peer = peer_id::<T>("regulator", 0, 1);

        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), new_peer.clone());

        assert_eq!(
            Regulators::<T>::get(&who).map(|r| r.peer_id),
            Some(new_peer)
        );
    }

    #[benchmark]
    fn set_proposal_lifetime() {
        let blocks: BlockNumberFor<T> = 1_000u32.into();

        #[extrinsic_call]
        _(RawOrigin::Root, blocks);

        assert_eq!(ProposalLifetime::<T>::get(), blocks);
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
