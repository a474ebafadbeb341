//! FHIR REST docking against a small HTTP server on 127.0.0.1: paging through
//! `link[relation=next]`, `_lastUpdated` from `since`, bearer token kept to its origin.

mod common;

use common::*;
use medledger_fhir::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// Serves a fixed set of pages; records every request line and Authorization header.
/// Request targets and Authorization headers the server saw.
type RequestLog = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// `pages_for` gets the server's base URL, so pages can carry absolute `next` links.
fn serve(
    token: &'static str,
    pages_for: impl FnOnce(&str) -> Vec<(String, Value)>,
) -> (String, RequestLog) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/fhir", listener.local_addr().unwrap());
    let pages = pages_for(&base);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut authorization = None;
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                if header.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':') {
                    if name.eq_ignore_ascii_case("authorization") {
                        authorization = Some(value.trim().to_string());
                    }
                }
            }
            let target = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string();
            log.lock()
                .unwrap()
                .push((target.clone(), authorization.clone()));
            let (status, body) = if authorization.as_deref() != Some(&format!("Bearer {token}")) {
                (
                    "401 Unauthorized",
                    json!({"resourceType": "OperationOutcome"}),
                )
            } else {
                match pages
                    .iter()
                    .find(|(path, _)| target.starts_with(path.as_str()))
                {
                    Some((_, page)) => ("200 OK", page.clone()),
                    None => ("404 Not Found", json!({"resourceType": "OperationOutcome"})),
                }
            };
            // A page `{"redirect": url}` answers 302 to that URL.
            let (status, location) = match body.get("redirect").and_then(Value::as_str) {
                Some(url) => ("302 Found", format!("Location: {url}\r\n")),
                None => (status, String::new()),
            };
            let body = body.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\n{location}Content-Type: application/fhir+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (base, seen)
}

/// A client of the local test server (plain http on loopback, allowed explicitly).
fn server(base: &str, token: &str) -> FhirServer {
    FhirServer::new(
        base,
        Some(zeroize::Zeroizing::new(token.to_string())),
        PlainHttp::LoopbackAllowed,
    )
    .unwrap()
}

fn bundle(resources: &[Value], next: Option<String>) -> Value {
    let mut bundle = json!({
        "resourceType": "Bundle", "type": "searchset",
        "entry": resources.iter().map(|r| json!({"resource": r, "search": {"mode": "match"}})).collect::<Vec<_>>(),
    });
    bundle["entry"].as_array_mut().unwrap().push(
        json!({"resource": {"resourceType": "OperationOutcome"}, "search": {"mode": "outcome"}}),
    );
    if let Some(next) = next {
        bundle["link"] =
            json!([{"relation": "self", "url": "ignored"}, {"relation": "next", "url": next}]);
    }
    bundle
}

#[test]
fn search_follows_next_links_sends_the_token_and_since_and_ingests() {
    let resources = corpus_resources(&corpus());
    let of_type = |t: &str| {
        resources
            .iter()
            .filter(|r| r["resourceType"] == t)
            .cloned()
            .collect::<Vec<_>>()
    };
    let (patients, encounters, observations) = (
        of_type("Patient"),
        of_type("Encounter"),
        of_type("Observation"),
    );
    // Patient in three pages (next links absolute, as servers send them), the others in one.
    let (base, seen) = serve("s3cret", |base| {
        vec![
            (
                "/fhir/Patient?".to_string(),
                bundle(&patients[..2], Some(format!("{base}/page/p2"))),
            ),
            (
                "/fhir/page/p2".to_string(),
                bundle(&patients[2..4], Some(format!("{base}/page/p3"))),
            ),
            ("/fhir/page/p3".to_string(), bundle(&patients[4..], None)),
            ("/fhir/Encounter?".to_string(), bundle(&encounters, None)),
            (
                "/fhir/Observation?".to_string(),
                bundle(&observations, None),
            ),
        ]
    });

    let dir = tempfile::tempdir().unwrap();
    let mut server = server(&base, "s3cret");
    server.page_size = 2;
    let report = server
        .fetch_to_folder(
            &["Patient", "Encounter", "Observation"],
            Some("2024-01-01T00:00:00+01:00"),
            &dir.path().join("export"),
        )
        .unwrap();
    assert_eq!(report.pages, 5);
    assert_eq!(
        report.resources.get("Patient"),
        Some(&(patients.len() as u64))
    );
    assert_eq!(
        report.resources.get("Observation"),
        Some(&(observations.len() as u64))
    );
    let requests = seen.lock().unwrap().clone();
    assert!(requests
        .iter()
        .all(|(_, auth)| auth.as_deref() == Some("Bearer s3cret")));
    assert!(
        requests[0].0.contains("_count=2")
            && requests[0]
                .0
                .contains("_lastUpdated=ge2024-01-01T00:00:00%2B01:00"),
        "{requests:?}"
    );
    assert_eq!(requests[1].0, "/fhir/page/p2");

    // Servers that take Bulk Data's `_since` on search get that parameter instead.
    server.since_parameter = SinceParameter::Since;
    server
        .fetch_to_folder(
            &["Observation"],
            Some("2024-01-01T00:00:00Z"),
            &dir.path().join("since"),
        )
        .unwrap();
    let last = seen.lock().unwrap().last().cloned().unwrap();
    assert!(
        last.0.contains("_since=2024-01-01T00:00:00Z") && !last.0.contains("_lastUpdated"),
        "{last:?}"
    );

    // What was fetched ingests like an export: the patients and their observations.
    let ingested = ingest(&dir.path().join("export"));
    assert_eq!(ingested.report.issue_count, 0);
    assert_eq!(
        ingested.report.resources,
        (patients.len() + encounters.len() + observations.len()) as u64
    );
}

#[test]
fn a_wrong_token_and_a_non_bundle_are_named_errors() {
    let (base, _) = serve("right", |_| {
        vec![(
            "/fhir/Patient?".into(),
            json!({"resourceType": "Patient", "id": "x"}),
        )]
    });
    let dir = tempfile::tempdir().unwrap();
    let wrong = server(&base, "wrong").fetch_to_folder(&["Patient"], None, dir.path());
    assert!(matches!(wrong, Err(Error::Http { reason, .. }) if reason.contains("401")));
    assert!(
        medledger_fhir::bulk::export_files(dir.path()).is_err(),
        "a failed fetch leaves no export file behind"
    );
    let not_bundle = server(&base, "right").fetch_to_folder(&["Patient"], None, dir.path());
    assert!(matches!(not_bundle, Err(Error::NotABundle { found, .. }) if found == "Patient"));
}

#[test]
fn an_incremental_fetch_merges_into_the_earlier_one_instead_of_replacing_it() {
    let resources = corpus_resources(&corpus());
    let patients: Vec<Value> = resources
        .iter()
        .filter(|r| r["resourceType"] == "Patient")
        .cloned()
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    let (base, _) = serve("t", |_| {
        vec![("/fhir/Patient?".to_string(), bundle(&patients, None))]
    });
    server(&base, "t")
        .fetch_to_folder(&["Patient"], None, &export)
        .unwrap();

    // Since then: one patient changed (gender), one is new.
    let mut changed = patients[1].clone();
    changed["gender"] = json!("other");
    let mut added = patients[0].clone();
    added["id"] = json!("pat-2001");
    let delta = vec![changed.clone(), added.clone()];
    let (base, _) = serve("t", |_| {
        vec![("/fhir/Patient?".to_string(), bundle(&delta, None))]
    });
    let report = server(&base, "t")
        .fetch_to_folder(&["Patient"], Some("2025-01-01T00:00:00Z"), &export)
        .unwrap();
    assert_eq!(report.resources.get("Patient"), Some(&2));

    let merged = corpus_resources(&export);
    assert_eq!(merged.len(), patients.len() + 1);
    let by_id = |id: &Value| merged.iter().filter(|r| r["id"] == *id).collect::<Vec<_>>();
    assert_eq!(
        by_id(&changed["id"]),
        vec![&changed],
        "the new version replaces the old"
    );
    assert_eq!(by_id(&added["id"]), vec![&added]);
    for unchanged in patients.iter().filter(|p| p["id"] != changed["id"]) {
        assert_eq!(by_id(&unchanged["id"]), vec![unchanged]);
    }
    let ingested = ingest(&export);
    assert_eq!(ingested.report.issue_count, 0);
    assert_eq!(ingested.report.resources, patients.len() as u64 + 1);
}

#[test]
fn a_next_link_to_another_origin_is_refused_and_never_gets_the_token() {
    let patients: Vec<Value> = corpus_resources(&corpus())
        .into_iter()
        .filter(|r| r["resourceType"] == "Patient")
        .collect();
    // Another origin: same host, another port.
    let (elsewhere, elsewhere_seen) = serve("s3cret", |_| {
        vec![("/fhir/page/p2".to_string(), bundle(&patients[2..], None))]
    });
    let next = format!("{elsewhere}/page/p2");
    let (base, seen) = serve("s3cret", move |_| {
        vec![(
            "/fhir/Patient?".to_string(),
            bundle(&patients[..2], Some(next)),
        )]
    });
    let dir = tempfile::tempdir().unwrap();
    let result = server(&base, "s3cret").fetch_to_folder(&["Patient"], None, dir.path());
    assert!(
        matches!(&result, Err(Error::CrossOriginLink { url, .. }) if url.starts_with(&elsewhere)),
        "{result:?}"
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert!(
        elsewhere_seen.lock().unwrap().is_empty(),
        "the other origin was contacted"
    );
    assert!(
        medledger_fhir::bulk::export_files(dir.path()).is_err(),
        "a refused fetch leaves no export file behind"
    );
}

#[test]
fn redirects_are_followed_within_the_origin_only() {
    let patients: Vec<Value> = corpus_resources(&corpus())
        .into_iter()
        .filter(|r| r["resourceType"] == "Patient")
        .collect();
    let count = patients.len() as u64;
    let (elsewhere, elsewhere_seen) = serve("s3cret", |_| {
        vec![("/fhir/Patient".to_string(), bundle(&[], None))]
    });
    let (base, seen) = serve("s3cret", move |base| {
        vec![
            // Within the origin: followed, with the token.
            (
                "/fhir/Patient?".to_string(),
                json!({"redirect": format!("{base}/moved/Patient")}),
            ),
            ("/fhir/moved/Patient".to_string(), bundle(&patients, None)),
            (
                "/fhir/Encounter?".to_string(),
                json!({"redirect": format!("{elsewhere}/Patient")}),
            ),
        ]
    });
    let dir = tempfile::tempdir().unwrap();
    let client = server(&base, "s3cret");
    let report = client
        .fetch_to_folder(&["Patient"], None, dir.path())
        .unwrap();
    assert_eq!(report.resources.get("Patient"), Some(&count));
    assert!(seen
        .lock()
        .unwrap()
        .iter()
        .all(|(_, auth)| auth.as_deref() == Some("Bearer s3cret")));

    let result = client.fetch_to_folder(&["Encounter"], None, dir.path());
    assert!(
        matches!(result, Err(Error::CrossOriginLink { .. })),
        "{result:?}"
    );
    assert!(elsewhere_seen.lock().unwrap().is_empty());
}

#[test]
fn plain_http_is_refused_unless_loopback_http_is_allowed() {
    let token = || Some(zeroize::Zeroizing::new("t".to_string()));
    for url in ["http://127.0.0.1:8080/fhir", "http://fhir.example.org/r4"] {
        assert!(matches!(
            FhirServer::new(url, token(), PlainHttp::Refused),
            Err(Error::InsecureServerUrl { .. })
        ));
    }
    for url in [
        "http://fhir.example.org/r4",
        "ftp://fhir.example.org/r4",
        "fhir",
    ] {
        assert!(matches!(
            FhirServer::new(url, token(), PlainHttp::LoopbackAllowed),
            Err(Error::InsecureServerUrl { .. })
        ));
    }
    for url in [
        "http://127.0.0.1:8080/fhir",
        "http://localhost/fhir",
        "http://[::1]:9000/fhir",
    ] {
        assert!(FhirServer::new(url, token(), PlainHttp::LoopbackAllowed).is_ok());
    }
    assert!(FhirServer::new("https://fhir.example.org/r4", token(), PlainHttp::Refused).is_ok());
}
