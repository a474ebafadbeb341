//! Unit tests: every call, error and event of the delivery pallet.

use crate::{
    mock::*, DeliveryKey, DeliveryKeyRegistry, DeliveryKeys, Error, Event, OcwDelegates,
    P256_GENERATOR_COMPRESSED,
};
use frame_support::{assert_noop, assert_ok};

/// A point with x = `x` and the given parity tag.
fn point_with_x(tag: u8, x: u8) -> DeliveryKey {
    let mut bytes = [0u8; 33];
    bytes[0] = tag;
    bytes[32] = x;
    DeliveryKey(bytes)
}

/// x = 5 is on P-256 (x³ − 3x + b is a quadratic residue mod p, checked independently), so both
/// parities are valid points; x = 1 is not on the curve.
fn valid_key() -> DeliveryKey {
    DeliveryKey(P256_GENERATOR_COMPRESSED)
}
fn other_valid_key() -> DeliveryKey {
    point_with_x(0x02, 5)
}

fn last_event() -> Event<Test> {
    System::events()
        .into_iter()
        .filter_map(|record| match record.event {
            RuntimeEvent::Delivery(event) => Some(event),
            _ => None,
        })
        .next_back()
        .expect("the pallet emitted an event")
}

#[test]
fn valid_points_are_accepted_by_the_curve_check() {
    assert!(valid_key().is_valid_p256_point());
    assert!(point_with_x(0x02, 5).is_valid_p256_point());
    assert!(point_with_x(0x03, 5).is_valid_p256_point());
}

#[test]
fn invalid_encodings_are_refused_by_the_curve_check() {
    // x = 1 has no y on the curve.
    assert!(!point_with_x(0x02, 1).is_valid_p256_point());
    assert!(!point_with_x(0x03, 1).is_valid_p256_point());
    // Wrong tags: uncompressed (0x04), identity (0x00), hybrid/unknown (0x06, 0x05).
    for tag in [0x00, 0x04, 0x05, 0x06] {
        assert!(!DeliveryKey({
            let mut bytes = P256_GENERATOR_COMPRESSED;
            bytes[0] = tag;
            bytes
        })
        .is_valid_p256_point());
    }
    // x ≥ p is not a field element.
    let mut too_large = [0xffu8; 33];
    too_large[0] = 0x02;
    assert!(!DeliveryKey(too_large).is_valid_p256_point());
}

#[test]
fn register_delivery_key_stores_key_and_emits_event() {
    run_test(|| {
        assert_ok!(Delivery::register_delivery_key(
            RuntimeOrigin::signed(BUYER),
            valid_key()
        ));
        assert_eq!(DeliveryKeys::<Test>::get(BUYER), Some(valid_key()));
        assert_eq!(Delivery::delivery_key(&BUYER), Some(valid_key()));
        assert_eq!(
            last_event(),
            Event::DeliveryKeySet {
                who: BUYER,
                key: valid_key(),
                previous: None
            }
        );
    });
}

#[test]
fn register_delivery_key_refuses_points_off_the_curve() {
    run_test(|| {
        assert_noop!(
            Delivery::register_delivery_key(RuntimeOrigin::signed(BUYER), point_with_x(0x02, 1)),
            Error::<Test>::InvalidDeliveryKey
        );
        let mut uncompressed_tag = P256_GENERATOR_COMPRESSED;
        uncompressed_tag[0] = 0x04;
        assert_noop!(
            Delivery::register_delivery_key(
                RuntimeOrigin::signed(BUYER),
                DeliveryKey(uncompressed_tag)
            ),
            Error::<Test>::InvalidDeliveryKey
        );
    });
}

#[test]
fn rotating_the_key_replaces_it_and_reports_the_previous_one() {
    run_test(|| {
        assert_ok!(Delivery::register_delivery_key(
            RuntimeOrigin::signed(BUYER),
            valid_key()
        ));
        assert_ok!(Delivery::register_delivery_key(
            RuntimeOrigin::signed(BUYER),
            other_valid_key()
        ));
        assert_eq!(Delivery::delivery_key(&BUYER), Some(other_valid_key()));
        assert_eq!(
            last_event(),
            Event::DeliveryKeySet {
                who: BUYER,
                key: other_valid_key(),
                previous: Some(valid_key())
            }
        );
    });
}

#[test]
fn remove_delivery_key_deletes_it() {
    run_test(|| {
        assert_ok!(Delivery::register_delivery_key(
            RuntimeOrigin::signed(BUYER),
            valid_key()
        ));
        assert_ok!(Delivery::remove_delivery_key(RuntimeOrigin::signed(BUYER)));
        assert_eq!(Delivery::delivery_key(&BUYER), None);
        assert_eq!(
            last_event(),
            Event::DeliveryKeyRemoved {
                who: BUYER,
                key: valid_key()
            }
        );
    });
}

#[test]
fn remove_delivery_key_without_one_fails() {
    run_test(|| {
        assert_noop!(
            Delivery::remove_delivery_key(RuntimeOrigin::signed(BUYER)),
            Error::<Test>::NoDeliveryKey
        );
    });
}

#[test]
fn custodian_sets_and_replaces_its_delegate() {
    run_test(|| {
        assert_ok!(Delivery::set_ocw_delegate(
            RuntimeOrigin::signed(HOSPITAL),
            NODE_KEY
        ));
        assert_eq!(OcwDelegates::<Test>::get(HOSPITAL), Some(NODE_KEY));
        assert_eq!(
            last_event(),
            Event::OcwDelegateSet {
                custodian: HOSPITAL,
                delegate: NODE_KEY,
                previous: None
            }
        );
        assert!(Delivery::may_act_for(&HOSPITAL, &NODE_KEY));

        assert_ok!(Delivery::set_ocw_delegate(
            RuntimeOrigin::signed(HOSPITAL),
            NODE_KEY + 1
        ));
        assert_eq!(
            last_event(),
            Event::OcwDelegateSet {
                custodian: HOSPITAL,
                delegate: NODE_KEY + 1,
                previous: Some(NODE_KEY)
            }
        );
        assert!(
            !Delivery::may_act_for(&HOSPITAL, &NODE_KEY),
            "the replaced key lost its power"
        );
        assert!(Delivery::may_act_for(&HOSPITAL, &(NODE_KEY + 1)));
    });
}

#[test]
fn may_act_for_covers_the_custodian_and_only_its_own_delegate() {
    run_test(|| {
        assert!(Delivery::may_act_for(&HOSPITAL, &HOSPITAL));
        assert!(!Delivery::may_act_for(&HOSPITAL, &NODE_KEY));
        assert_ok!(Delivery::set_ocw_delegate(
            RuntimeOrigin::signed(HOSPITAL),
            NODE_KEY
        ));
        assert!(!Delivery::may_act_for(&OTHER_HOSPITAL, &NODE_KEY));
        assert!(!Delivery::may_act_for(&HOSPITAL, &STRANGER));
    });
}

#[test]
fn set_ocw_delegate_requires_membership() {
    run_test(|| {
        assert_noop!(
            Delivery::set_ocw_delegate(RuntimeOrigin::signed(STRANGER), NODE_KEY),
            Error::<Test>::NotCustodian
        );
    });
}

#[test]
fn set_ocw_delegate_refuses_the_custodian_itself() {
    run_test(|| {
        assert_noop!(
            Delivery::set_ocw_delegate(RuntimeOrigin::signed(HOSPITAL), HOSPITAL),
            Error::<Test>::DelegateIsCustodian
        );
    });
}

#[test]
fn revoke_ocw_delegate_removes_its_power() {
    run_test(|| {
        assert_ok!(Delivery::set_ocw_delegate(
            RuntimeOrigin::signed(HOSPITAL),
            NODE_KEY
        ));
        assert_ok!(Delivery::revoke_ocw_delegate(RuntimeOrigin::signed(
            HOSPITAL
        )));
        assert_eq!(OcwDelegates::<Test>::get(HOSPITAL), None);
        assert!(!Delivery::may_act_for(&HOSPITAL, &NODE_KEY));
        assert_eq!(
            last_event(),
            Event::OcwDelegateRevoked {
                custodian: HOSPITAL,
                delegate: NODE_KEY
            }
        );
    });
}

#[test]
fn a_removed_member_can_still_revoke_its_delegate() {
    run_test(|| {
        assert_ok!(Delivery::set_ocw_delegate(
            RuntimeOrigin::signed(HOSPITAL),
            NODE_KEY
        ));
        Members::set(vec![OTHER_HOSPITAL]);
        assert_ok!(Delivery::revoke_ocw_delegate(RuntimeOrigin::signed(
            HOSPITAL
        )));
        assert_eq!(OcwDelegates::<Test>::get(HOSPITAL), None);
    });
}

#[test]
fn revoke_ocw_delegate_without_one_fails() {
    run_test(|| {
        assert_noop!(
            Delivery::revoke_ocw_delegate(RuntimeOrigin::signed(HOSPITAL)),
            Error::<Test>::NoOcwDelegate
        );
    });
}

#[test]
fn unsigned_origins_are_refused() {
    run_test(|| {
        assert_noop!(
            Delivery::register_delivery_key(RuntimeOrigin::none(), valid_key()),
            sp_runtime::DispatchError::BadOrigin
        );
        assert_noop!(
            Delivery::set_ocw_delegate(RuntimeOrigin::root(), NODE_KEY),
            sp_runtime::DispatchError::BadOrigin
        );
    });
}

#[test]
fn try_state_detects_an_invalid_stored_key() {
    new_test_ext().execute_with(|| {
        DeliveryKeys::<Test>::insert(BUYER, point_with_x(0x02, 1));
        assert!(crate::Pallet::<Test>::do_try_state().is_err());
    });
}
