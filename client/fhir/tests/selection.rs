//! Selection honours the listing filter and every part of consent: revocation, expiry,
//! purpose, grantee (buyer, class, anyone) and scope.

mod common;

use common::*;
use medledger_fhir::collect::read_all_records;
use medledger_fhir::*;
use std::collections::BTreeSet;

const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"; // pat-1001
const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"; // pat-1002
const CHARLIE: &str = "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y"; // pat-1003
const DAVE: &str = "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy"; // pat-1004
const EVE: &str = "5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw"; // pat-1005
const OTHER_BUYER: &str = "5HpG9w8EBLe5XCrbczpwq5TSXvedjrBGCwqxK1iQ7qUsSWFc"; // Alice//stash

fn account(ss58: &str) -> AccountId {
    AccountId::from_ss58(ss58).unwrap()
}

fn grant(
    owner: &str,
    scope: Scope,
    purpose: Purpose,
    grantee: Grantee,
    expires_at: Option<u64>,
    revoked_at: Option<u64>,
) -> Grant {
    Grant {
        owner: account(owner),
        scope,
        purpose,
        grantee,
        granted_at: 10,
        expires_at,
        revoked_at,
    }
}

fn grants() -> ConsentGrants {
    let mut classes = std::collections::BTreeMap::new();
    classes.insert("universities".to_string(), vec![buyer()]);
    ConsentGrants {
        grants: vec![
            grant(
                ALICE,
                Scope::All,
                Purpose::Research,
                Grantee::Anyone,
                None,
                Some(100),
            ),
            grant(
                BOB,
                Scope::Category("observation:laboratory".into()),
                Purpose::Research,
                Grantee::Buyer(buyer()),
                Some(200),
                None,
            ),
            grant(
                CHARLIE,
                Scope::All,
                Purpose::Commercial,
                Grantee::Anyone,
                None,
                None,
            ),
            grant(
                DAVE,
                Scope::All,
                Purpose::Research,
                Grantee::Class("universities".into()),
                None,
                None,
            ),
            grant(
                EVE,
                Scope::All,
                Purpose::Research,
                Grantee::Buyer(account(OTHER_BUYER)),
                None,
                None,
            ),
        ],
        buyer_classes: classes,
    }
}

/// The selection, as the set of (owner, category list) of the chosen records.
fn owners_selected(
    ingested: &Ingested,
    filter: &ListingFilter,
    sale: &Sale,
) -> BTreeSet<(String, Vec<String>)> {
    let records = read_all_records(&ingested.store, &ingested.key).unwrap();
    let chosen: BTreeSet<RecordId> =
        select_records(&ingested.store, &ingested.key, filter, sale, &grants())
            .unwrap()
            .into_iter()
            .map(|s| s.record_id)
            .collect();
    records
        .into_iter()
        .filter(|r| r.record_id.is_some_and(|id| chosen.contains(&id)))
        .map(|r| (r.owner.as_ss58().to_string(), r.categories))
        .collect()
}

/// What the store holds for `owner`, optionally only records carrying `category`.
fn records_of(
    ingested: &Ingested,
    owner: &str,
    category: Option<&str>,
) -> BTreeSet<(String, Vec<String>)> {
    read_all_records(&ingested.store, &ingested.key)
        .unwrap()
        .into_iter()
        .filter(|r| r.record_id.is_some() && r.owner.as_ss58() == owner)
        .filter(|r| category.is_none_or(|c| r.categories.iter().any(|x| x == c)))
        .map(|r| (r.owner.as_ss58().to_string(), r.categories))
        .collect()
}

fn sale(buyer: AccountId, purpose: Purpose, sale_block: u64, delivery_block: Option<u64>) -> Sale {
    Sale {
        buyer,
        purpose,
        sale_block,
        delivery_block,
    }
}

#[test]
fn selection_follows_purpose_grantee_scope_and_time() {
    let ingested = ingest(&corpus());
    let all = ListingFilter::default();
    let union = |parts: Vec<BTreeSet<(String, Vec<String>)>>| {
        parts.into_iter().flatten().collect::<BTreeSet<_>>()
    };

    // Block 50: Alice (not yet revoked), Bob's lab results only, Dave through the class.
    let expected = union(vec![
        records_of(&ingested, ALICE, None),
        records_of(&ingested, BOB, Some("observation:laboratory")),
        records_of(&ingested, DAVE, None),
    ]);
    assert!(!records_of(&ingested, BOB, Some("observation:laboratory")).is_empty());
    assert_eq!(
        owners_selected(&ingested, &all, &sale(buyer(), Purpose::Research, 50, None)),
        expected
    );

    // Block 150: Alice revoked at 100.
    let expected = union(vec![
        records_of(&ingested, BOB, Some("observation:laboratory")),
        records_of(&ingested, DAVE, None),
    ]);
    assert_eq!(
        owners_selected(
            &ingested,
            &all,
            &sale(buyer(), Purpose::Research, 150, None)
        ),
        expected
    );

    // Block 250: Bob's consent expired at 200.
    assert_eq!(
        owners_selected(
            &ingested,
            &all,
            &sale(buyer(), Purpose::Research, 250, None)
        ),
        records_of(&ingested, DAVE, None)
    );

    // Before any grant: nothing.
    assert!(
        owners_selected(&ingested, &all, &sale(buyer(), Purpose::Research, 5, None)).is_empty()
    );

    // Another purpose: only Charlie consented to commercial use.
    assert_eq!(
        owners_selected(
            &ingested,
            &all,
            &sale(buyer(), Purpose::Commercial, 50, None)
        ),
        records_of(&ingested, CHARLIE, None)
    );
    assert!(owners_selected(
        &ingested,
        &all,
        &sale(buyer(), Purpose::PublicHealth, 50, None)
    )
    .is_empty());

    // Another buyer: not Bob (named buyer), not Dave (class); Eve named this one.
    let expected = union(vec![
        records_of(&ingested, ALICE, None),
        records_of(&ingested, EVE, None),
    ]);
    assert_eq!(
        owners_selected(
            &ingested,
            &all,
            &sale(account(OTHER_BUYER), Purpose::Research, 50, None)
        ),
        expected
    );
}

#[test]
fn a_revocation_between_sale_and_delivery_stops_the_delivery() {
    let ingested = ingest(&corpus());
    let all = ListingFilter::default();
    let at_sale = owners_selected(&ingested, &all, &sale(buyer(), Purpose::Research, 50, None));
    let at_delivery = owners_selected(
        &ingested,
        &all,
        &sale(buyer(), Purpose::Research, 50, Some(150)),
    );
    let alice = records_of(&ingested, ALICE, None);
    assert!(alice.is_subset(&at_sale));
    assert!(alice.is_disjoint(&at_delivery));
    assert_eq!(
        at_sale.difference(&alice).cloned().collect::<BTreeSet<_>>(),
        at_delivery
    );
}

#[test]
fn the_listing_filter_limits_categories_and_time() {
    let ingested = ingest(&corpus());
    let records = read_all_records(&ingested.store, &ingested.key).unwrap();
    let filter = ListingFilter {
        categories: vec!["observation:vital-signs".into()],
        from: Some("2025".into()),
        until: Some("2025-02".into()),
    };
    let chosen = select_records(
        &ingested.store,
        &ingested.key,
        &filter,
        &research_sale(),
        &ConsentToEverything,
    )
    .unwrap();
    let expected: Vec<RecordId> = records
        .iter()
        .filter(|r| r.categories.iter().any(|c| c == "observation:vital-signs"))
        .filter(|r| {
            r.date
                .as_deref()
                .is_some_and(|d| ("2025-01-01".."2025-02-01").contains(&d))
        })
        .filter_map(|r| r.record_id)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        chosen.iter().map(|s| s.record_id).collect::<Vec<_>>(),
        expected
    );
    let bad = ListingFilter {
        from: Some("March".into()),
        ..Default::default()
    };
    assert!(matches!(
        select_records(
            &ingested.store,
            &ingested.key,
            &bad,
            &research_sale(),
            &ConsentToEverything
        ),
        Err(Error::BadFilterDate(_))
    ));
}

#[test]
fn a_delivery_contains_only_the_consented_records_and_their_patients() {
    let ingested = ingest(&corpus());
    let out = ingested.dir.path().join("delivery");
    let summary = deidentify_delivery(
        &ingested.store,
        &ingested.key,
        &Profile::safe_harbor().unwrap(),
        &ListingFilter::default(),
        &sale(buyer(), Purpose::Research, 150, None),
        &grants(),
        &out,
        &DeliveryOptions::new(1, 2026),
    )
    .unwrap();
    let expected = records_of(&ingested, BOB, Some("observation:laboratory")).len()
        + records_of(&ingested, DAVE, None).len();
    assert_eq!(summary.manifest.records_delivered as usize, expected);
    assert_eq!(summary.manifest.counts.get("Patient"), Some(&2));
}

#[test]
fn grants_file_round_trips_and_bad_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grants.json");
    std::fs::write(&path, serde_json::to_string(&grants()).unwrap()).unwrap();
    assert_eq!(ConsentGrants::from_file(&path).unwrap().grants.len(), 5);
    std::fs::write(&path, r#"{"grants": [{"owner": "nobody"}]}"#).unwrap();
    assert!(matches!(
        ConsentGrants::from_file(&path),
        Err(Error::BadGrants { .. })
    ));
}
