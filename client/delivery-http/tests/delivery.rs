//! End-to-end: a real server on 127.0.0.1, the real client, raw HTTP for the edge cases.
//!
//! Each test builds its own server (own runtime, own temp dir) and runs under a deadline,
//! so tests are independent and bounded in time.

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use medledger_delivery_http::{
    fetch, fetch_category_salt, fetch_checked, fetch_payouts, partial_path, payout_request_message,
    request_message, serve, unix_now, wrap_bytes, Authorization, Delivery, DeliveryLookup,
    FetchError, FetchReport, OwnerRequest, PayoutClaim, ServerConfig,
};
use rand::RngCore;
use sp_core::sr25519::Pair;
use sp_core::Pair as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The order Alice bought; its file is `SIZE` random bytes.
const ORDER: u64 = 7;
/// Alice's order whose file has not been put in the delivery folder.
const MISSING_FILE_ORDER: u64 = 9;
/// An order the node knows but cannot serve yet (no receipt on chain).
const NOT_SERVABLE_ORDER: u64 = 10;
const SIZE: usize = 3 * 1024 * 1024 + 12_345;
const DEADLINE: Duration = Duration::from_secs(90);

fn alice() -> Pair {
    Pair::from_string("//Alice", None).expect("dev key")
}

fn bob() -> Pair {
    Pair::from_string("//Bob", None).expect("dev key")
}

/// Runs `test` on its own thread and fails if it takes longer than `DEADLINE`.
fn bounded(test: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        test();
        let _ = done.send(());
    });
    match finished.recv_timeout(DEADLINE) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test did not finish within {DEADLINE:?}"),
    }
}

/// Knows orders `ORDER` and `MISSING_FILE_ORDER` (both Alice's) and counts its calls.
struct TestLookup {
    deliveries: HashMap<u64, Delivery>,
    calls: AtomicUsize,
}

impl DeliveryLookup for TestLookup {
    fn delivery(&self, order: u64) -> Option<Delivery> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.deliveries.get(&order).cloned()
    }

    fn payouts(&self, owner: [u8; 32]) -> Vec<PayoutClaim> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if owner == alice().public().0 {
            vec![alice_claim()]
        } else {
            Vec::new()
        }
    }

    /// Alice's salt; none for Bob, as a node without a data store answers everyone.
    fn category_salt(&self, owner: [u8; 32]) -> Option<[u8; 32]> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        (owner == alice().public().0).then(|| owner.map(|byte| byte ^ 0x5a))
    }
}

/// The one payout leaf the test server's books hold: Alice's.
fn alice_claim() -> PayoutClaim {
    PayoutClaim {
        custodian: format!("0x{}", hex::encode(bob().public().0)),
        epoch: 3,
        index: 1,
        owner: format!("0x{}", hex::encode(alice().public().0)),
        amount: "340282366920938463463374607431768211455".into(),
        salt: format!("0x{}", "5a".repeat(32)),
        proof: vec![format!("0x{}", "ab".repeat(32))],
    }
}

/// A running server behind a byte-counting loopback proxy. The server's configured
/// endpoint is the proxy's URL (as behind a real reverse proxy), so `fetch` goes through
/// the proxy while raw requests may go straight to the server, signed for the proxy URL.
struct Fixture {
    /// Dropping it (with the fixture) stops the server and the proxy.
    _runtime: tokio::runtime::Runtime,
    /// The configured public endpoint (the proxy).
    endpoint: String,
    /// The server's own address.
    server: SocketAddr,
    /// Bytes the server sent through the proxy.
    sent: Arc<AtomicU64>,
    /// The proxy drops the connection once `sent` would pass this (`u64::MAX`: never).
    cut_after: Arc<AtomicU64>,
    lookup: Arc<TestLookup>,
    data: Vec<u8>,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut data = vec![0u8; SIZE];
        rand::thread_rng().fill_bytes(&mut data);
        let path = dir.path().join("order-7.sealed");
        fs::write(&path, &data).expect("write delivery file");
        let lookup = Arc::new(TestLookup {
            deliveries: HashMap::from([
                (
                    ORDER,
                    Delivery {
                        buyer: alice().public().0,
                        path: Some(path),
                    },
                ),
                (
                    NOT_SERVABLE_ORDER,
                    Delivery {
                        buyer: alice().public().0,
                        path: None,
                    },
                ),
                (
                    MISSING_FILE_ORDER,
                    Delivery {
                        buyer: alice().public().0,
                        path: Some(dir.path().join("not-there-yet.sealed")),
                    },
                ),
            ]),
            calls: AtomicUsize::new(0),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let sent = Arc::new(AtomicU64::new(0));
        let cut_after = Arc::new(AtomicU64::new(u64::MAX));
        let (endpoint, server) = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind server");
            let server = listener.local_addr().expect("server address");
            let proxy = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind proxy");
            let endpoint = format!("http://{}", proxy.local_addr().expect("proxy address"));
            let config = ServerConfig::new(endpoint.clone());
            let dyn_lookup: Arc<dyn DeliveryLookup> = lookup.clone();
            tokio::spawn(async move {
                if let Err(error) = serve(listener, config, dyn_lookup).await {
                    panic!("server failed: {error}");
                }
            });
            tokio::spawn(counting_proxy(
                proxy,
                server,
                Arc::clone(&sent),
                Arc::clone(&cut_after),
            ));
            (endpoint, server)
        });
        Self {
            _runtime: runtime,
            endpoint,
            server,
            sent,
            cut_after,
            lookup,
            data,
            dir,
        }
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("download.sealed")
    }

    fn lookups(&self) -> usize {
        self.lookup.calls.load(Ordering::SeqCst)
    }

    /// A valid header value from `signer` for `order` at `timestamp`.
    fn auth(&self, signer: &Pair, order: u64, timestamp: u64) -> String {
        Authorization::sign(signer, order, &self.endpoint, timestamp).to_string()
    }

    /// GET or HEAD straight to the server.
    fn raw(&self, method: &str, path: &str, headers: &[(&str, String)]) -> RawResponse {
        raw_request(self.server, method, path, headers)
    }

    /// An authorised request for `ORDER` by Alice with extra headers.
    fn raw_alice(&self, method: &str, headers: &[(&str, &str)]) -> RawResponse {
        let mut all = vec![("Authorization", self.auth(&alice(), ORDER, unix_now()))];
        all.extend(headers.iter().map(|(k, v)| (*k, v.to_string())));
        self.raw(method, &format!("/orders/{ORDER}"), &all)
    }
}

/// Forwards loopback connections to `target`, counting the bytes coming back and
/// cutting the connection where `cut_after` says.
async fn counting_proxy(
    listener: tokio::net::TcpListener,
    target: SocketAddr,
    sent: Arc<AtomicU64>,
    cut_after: Arc<AtomicU64>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let sent = Arc::clone(&sent);
        let cut_after = Arc::clone(&cut_after);
        tokio::spawn(async move {
            let Ok(server) = tokio::net::TcpStream::connect(target).await else {
                return;
            };
            let (mut client_read, mut client_write) = client.into_split();
            let (mut server_read, mut server_write) = server.into_split();
            let up = async {
                let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                let _ = server_write.shutdown().await;
            };
            let down = async {
                let mut buffer = vec![0u8; 64 * 1024];
                while let Ok(read) = server_read.read(&mut buffer).await {
                    if read == 0 {
                        break;
                    }
                    let before = sent.fetch_add(read as u64, Ordering::SeqCst);
                    let limit = cut_after.load(Ordering::SeqCst);
                    let allowed = limit.saturating_sub(before).min(read as u64) as usize;
                    if client_write.write_all(&buffer[..allowed]).await.is_err() || allowed < read {
                        break;
                    }
                }
                let _ = client_write.shutdown().await;
            };
            tokio::join!(up, down);
        });
    }
}

struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), read to the end.
fn raw_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
) -> RawResponse {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8(raw[..split].to_vec()).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    RawResponse {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// Fetches `ORDER` as `signer` into the fixture's `out`, recording progress.
fn fetch_as(
    fixture: &Fixture,
    endpoint: &str,
    signer: &Pair,
    progress: &mut Vec<(u64, Option<u64>)>,
) -> Result<FetchReport, FetchError> {
    fetch(
        endpoint,
        ORDER,
        signer,
        &fixture.out(),
        &mut |done, total| progress.push((done, total)),
    )
}

fn assert_no_output(out: &Path) {
    assert!(!out.exists(), "{} must not exist", out.display());
    let partial = partial_path(out).expect("partial path");
    assert!(!partial.exists(), "{} must not exist", partial.display());
}

#[test]
fn buyer_downloads_identical_bytes() {
    bounded(|| {
        let fx = Fixture::start();
        let mut progress = Vec::new();
        let report = fetch_as(&fx, &fx.endpoint, &alice(), &mut progress).expect("fetch");
        assert_eq!(fs::read(fx.out()).expect("read out"), fx.data);
        assert_eq!(
            report,
            FetchReport {
                path: fx.out(),
                size: SIZE as u64,
                resumed_from: 0,
                downloaded: SIZE as u64,
            }
        );
        assert!(!partial_path(&fx.out()).expect("partial").exists());
        assert_eq!(progress.first(), Some(&(0, Some(SIZE as u64))));
        assert_eq!(progress.last(), Some(&(SIZE as u64, Some(SIZE as u64))));
        assert!(progress.windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(fx.lookups(), 1);
    });
}

#[test]
fn resume_fetches_only_the_missing_bytes() {
    bounded(|| {
        let fx = Fixture::start();
        let kept = 1_000_003;
        let partial = partial_path(&fx.out()).expect("partial");
        fs::write(&partial, &fx.data[..kept]).expect("write partial");

        let mut progress = Vec::new();
        let report = fetch_as(&fx, &fx.endpoint, &alice(), &mut progress).expect("fetch");

        assert_eq!(fs::read(fx.out()).expect("read out"), fx.data);
        assert!(!partial.exists());
        let rest = (SIZE - kept) as u64;
        assert_eq!(report.resumed_from, kept as u64);
        assert_eq!(report.downloaded, rest);
        assert_eq!(progress.first(), Some(&(kept as u64, Some(SIZE as u64))));
        // Only the rest crossed the wire: the body plus one response head.
        let sent = fx.sent.load(Ordering::SeqCst);
        assert!(
            sent >= rest && sent < rest + 1024,
            "server sent {sent} bytes for a {rest}-byte remainder"
        );
    });
}

#[test]
fn broken_transfer_keeps_the_partial_and_resumes() {
    bounded(|| {
        let fx = Fixture::start();
        let cut = 1_500_000;
        fx.cut_after.store(cut, Ordering::SeqCst);
        let partial = partial_path(&fx.out()).expect("partial");

        let error = fetch_as(&fx, &fx.endpoint, &alice(), &mut Vec::new()).expect_err("cut off");
        let FetchError::Interrupted { done, .. } = error else {
            panic!("expected Interrupted, got {error:?}");
        };
        assert!(
            done > 0 && done < cut,
            "{done} bytes before the cut at {cut}"
        );
        assert!(
            error
                .to_string()
                .contains("run the same fetch again to resume"),
            "{error}"
        );
        assert_eq!(fs::metadata(&partial).expect("partial kept").len(), done);
        assert!(!fx.out().exists());

        fx.cut_after.store(u64::MAX, Ordering::SeqCst);
        let report = fetch_as(&fx, &fx.endpoint, &alice(), &mut Vec::new()).expect("resumed");
        assert_eq!(report.resumed_from, done);
        assert_eq!(report.downloaded, SIZE as u64 - done);
        assert_eq!(fs::read(fx.out()).expect("read out"), fx.data);
        assert!(!partial.exists());
    });
}

#[test]
fn whole_file_answer_to_a_range_restarts_from_zero() {
    bounded(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let out = dir.path().join("out.sealed");
        let partial = partial_path(&out).expect("partial");
        fs::write(&partial, b"stale bytes from some other attempt").expect("write partial");

        // A server that ignores Range and always sends the whole file.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let body = data.clone();
        let (requests, received) = mpsc::channel();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).expect("read") == 1 {
                head.push(byte[0]);
            }
            let _ = requests.send(String::from_utf8_lossy(&head).to_lowercase());
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(answer.as_bytes()).expect("write head");
            stream.write_all(&body).expect("write body");
        });

        let report = fetch(&endpoint, ORDER, &alice(), &out, &mut |_, _| {}).expect("fetch");
        let request = received
            .recv_timeout(Duration::from_secs(10))
            .expect("request");
        assert!(request.contains("\r\nrange: bytes=35-\r\n"), "{request}");
        assert!(request.contains("\r\nauthorization: medledger-sr25519 account=0x"));
        assert_eq!(fs::read(&out).expect("read out"), data);
        assert_eq!(report.resumed_from, 0);
        assert_eq!(report.downloaded, data.len() as u64);
        assert!(!partial.exists());
    });
}

#[test]
fn complete_partial_is_only_renamed() {
    bounded(|| {
        let fx = Fixture::start();
        let partial = partial_path(&fx.out()).expect("partial");
        fs::write(&partial, &fx.data).expect("write partial");
        let report = fetch_as(&fx, &fx.endpoint, &alice(), &mut Vec::new()).expect("fetch");
        assert_eq!(fs::read(fx.out()).expect("read out"), fx.data);
        assert_eq!(report.downloaded, 0);
        assert_eq!(report.resumed_from, SIZE as u64);
        assert!(fx.sent.load(Ordering::SeqCst) < 1024);
    });
}

#[test]
fn overlong_partial_starts_over() {
    bounded(|| {
        let fx = Fixture::start();
        let partial = partial_path(&fx.out()).expect("partial");
        let mut longer = fx.data.clone();
        longer.extend_from_slice(&[0xAA; 100]);
        fs::write(&partial, &longer).expect("write partial");
        let report = fetch_as(&fx, &fx.endpoint, &alice(), &mut Vec::new()).expect("fetch");
        assert_eq!(fs::read(fx.out()).expect("read out"), fx.data);
        assert_eq!(report.resumed_from, 0);
        assert_eq!(report.downloaded, SIZE as u64);
    });
}

/// Alice fetches `order` into the fixture's `out`, the download held to `check`.
fn fetch_alices(
    fx: &Fixture,
    order: u64,
    check: &mut dyn FnMut(&Path, u64) -> Result<(), String>,
) -> Result<FetchReport, FetchError> {
    fetch_checked(
        &fx.endpoint,
        order,
        &alice(),
        &fx.out(),
        &mut |_, _| {},
        check,
    )
}

/// The caller's check sees the whole `.partial` before it replaces `out`; a refused one is
/// removed and `out` (an earlier good copy) is left as it was, also when the `.partial` was
/// already complete or the delivery is not ready.
#[test]
fn a_download_refused_by_the_check_is_removed_and_out_left_as_it_was() {
    bounded(|| {
        let fx = Fixture::start();
        let earlier = b"an earlier, checked copy".to_vec();
        fs::write(fx.out(), &earlier).expect("write out");
        let partial = partial_path(&fx.out()).expect("partial");

        let mut checked = Vec::new();
        let error = fetch_alices(&fx, ORDER, &mut |path, size| {
            checked.push((path.to_path_buf(), fs::read(path).expect("read"), size));
            Err("not the digest wanted".into())
        })
        .expect_err("refused");
        assert!(
            matches!(&error, FetchError::Rejected { detail, .. } if detail == "not the digest wanted"),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!(
                "not the digest wanted: removed the download, and left {} as it was",
                fx.out().display()
            )
        );
        assert_eq!(
            checked,
            vec![(partial.clone(), fx.data.clone(), SIZE as u64)]
        );
        assert_eq!(fs::read(fx.out()).expect("read out"), earlier);
        assert!(!partial.exists());

        // A `.partial` that is already complete is checked too before it is renamed.
        fs::write(&partial, &fx.data).expect("write partial");
        let error =
            fetch_alices(&fx, ORDER, &mut |_, _| Err("refused".into())).expect_err("refused");
        assert!(matches!(error, FetchError::Rejected { .. }), "{error:?}");
        assert_eq!(fs::read(fx.out()).expect("read out"), earlier);
        assert!(!partial.exists());

        // An endpoint that cannot serve yet leaves `out` alone.
        let error = fetch_alices(&fx, MISSING_FILE_ORDER, &mut |_, _| {
            panic!("nothing to check")
        })
        .expect_err("not ready");
        assert!(matches!(error, FetchError::NotReady { .. }), "{error:?}");
        assert_eq!(fs::read(fx.out()).expect("read out"), earlier);

        // An accepted download replaces it.
        let report = fetch_alices(&fx, ORDER, &mut |path, size| {
            assert_eq!((path, size), (partial.as_path(), SIZE as u64));
            Ok(())
        })
        .expect("accepted");
        assert_eq!(report.path, fx.out());
        assert_eq!(fs::read(fx.out()).expect("read out"), fx.data);
        assert!(!partial.exists());
    });
}

#[test]
fn stranger_gets_403_and_no_file() {
    bounded(|| {
        let fx = Fixture::start();
        let error = fetch_as(&fx, &fx.endpoint, &bob(), &mut Vec::new()).expect_err("refused");
        assert!(
            matches!(error, FetchError::NotBuyer { order: ORDER }),
            "{error:?}"
        );
        assert_eq!(error.to_string(), "this account did not buy order 7");
        assert_no_output(&fx.out());
        // Nothing but a short refusal crossed the wire.
        assert!(fx.sent.load(Ordering::SeqCst) < 1024);
    });
}

#[test]
fn unknown_order_looks_like_someone_elses() {
    bounded(|| {
        let fx = Fixture::start();
        let not_yours = fx.raw(
            "GET",
            &format!("/orders/{ORDER}"),
            &[("Authorization", fx.auth(&bob(), ORDER, unix_now()))],
        );
        let unknown = fx.raw(
            "GET",
            "/orders/8",
            &[("Authorization", fx.auth(&bob(), 8, unix_now()))],
        );
        assert_eq!(not_yours.status, 403);
        assert_eq!(unknown.status, 403);
        assert_eq!(
            not_yours.text().replace('7', "N"),
            unknown.text().replace('8', "N")
        );
        assert!(not_yours
            .text()
            .starts_with("this account did not buy order 7"));
        assert!(not_yours.body.len() < 200);
    });
}

#[test]
fn missing_header_is_401_with_challenge() {
    bounded(|| {
        let fx = Fixture::start();
        let response = fx.raw("GET", &format!("/orders/{ORDER}"), &[]);
        assert_eq!(response.status, 401);
        assert_eq!(
            response.header("WWW-Authenticate"),
            Some("MedLedger-Sr25519")
        );
        assert!(response.text().starts_with("missing Authorization header"));
        assert!(response.body.len() < 400);
        assert_eq!(fx.lookups(), 0, "no lookup before authentication");
    });
}

#[test]
fn malformed_header_is_401_with_challenge() {
    bounded(|| {
        let fx = Fixture::start();
        for value in [
            "Bearer abc".to_string(),
            "MedLedger-Sr25519 account=0x12, timestamp=1, signature=0x34".to_string(),
            fx.auth(&alice(), ORDER, unix_now())
                .replace("timestamp=", "time="),
        ] {
            let response = fx.raw(
                "GET",
                &format!("/orders/{ORDER}"),
                &[("Authorization", value.clone())],
            );
            assert_eq!(response.status, 401, "{value}");
            assert_eq!(
                response.header("WWW-Authenticate"),
                Some("MedLedger-Sr25519")
            );
            assert!(
                response
                    .text()
                    .starts_with("malformed Authorization header"),
                "{}",
                response.text()
            );
        }
        assert_eq!(fx.lookups(), 0);
    });
}

#[test]
fn wrong_signature_is_401() {
    bounded(|| {
        let fx = Fixture::start();
        let now = unix_now();
        // Alice's account, Bob's signature.
        let mut forged = Authorization::sign(&bob(), ORDER, &fx.endpoint, now);
        forged.account = alice().public().0;
        // Alice's signature, but for another order.
        let other_order = Authorization::sign(&alice(), ORDER + 1, &fx.endpoint, now);
        // Alice's signature over a different timestamp than the one sent.
        let mut shifted = Authorization::sign(&alice(), ORDER, &fx.endpoint, now);
        shifted.timestamp = now - 1;
        for auth in [forged, other_order, shifted] {
            let response = fx.raw(
                "GET",
                &format!("/orders/{ORDER}"),
                &[("Authorization", auth.to_string())],
            );
            assert_eq!(response.status, 401);
            assert!(
                response.text().starts_with("the signature does not verify"),
                "{}",
                response.text()
            );
        }
        assert_eq!(fx.lookups(), 0);
    });
}

#[test]
fn stale_or_future_timestamp_is_401() {
    bounded(|| {
        let fx = Fixture::start();
        let now = unix_now();
        for timestamp in [now - 301 - 5, now + 301 + 5, 0] {
            let response = fx.raw(
                "GET",
                &format!("/orders/{ORDER}"),
                &[("Authorization", fx.auth(&alice(), ORDER, timestamp))],
            );
            assert_eq!(response.status, 401, "timestamp {timestamp}");
            assert!(response.text().contains("clock"), "{}", response.text());
        }
        // Within the skew is fine.
        let response = fx.raw(
            "HEAD",
            &format!("/orders/{ORDER}"),
            &[("Authorization", fx.auth(&alice(), ORDER, now - 200))],
        );
        assert_eq!(response.status, 200);
    });
}

#[test]
fn signature_for_another_endpoint_is_refused_by_fetch() {
    bounded(|| {
        let fx = Fixture::start();
        // Straight to the server, so the client signs a URL the server does not call its own.
        let direct = format!("http://{}", fx.server);
        let error = fetch_as(&fx, &direct, &alice(), &mut Vec::new()).expect_err("refused");
        assert!(
            matches!(error, FetchError::Unauthorized { .. }),
            "{error:?}"
        );
        assert!(error.to_string().starts_with(
            "the delivery endpoint refused the signature: check the account and the clock"
        ));
        assert_no_output(&fx.out());
    });
}

#[test]
fn bytes_wrapped_signature_is_accepted() {
    bounded(|| {
        let fx = Fixture::start();
        let pair = alice();
        let now = unix_now();
        let message = request_message(ORDER, &fx.endpoint, now);
        let auth = Authorization {
            account: pair.public().0,
            timestamp: now,
            signature: pair.sign(&wrap_bytes(&message)).0,
        };
        let response = fx.raw(
            "GET",
            &format!("/orders/{ORDER}"),
            &[("Authorization", auth.to_string())],
        );
        assert_eq!(response.status, 200);
        assert_eq!(response.body, fx.data);
    });
}

#[test]
fn whole_file_headers() {
    bounded(|| {
        let fx = Fixture::start();
        let response = fx.raw_alice("GET", &[]);
        assert_eq!(response.status, 200);
        assert_eq!(
            response.header("Content-Type"),
            Some("application/octet-stream")
        );
        assert_eq!(
            response.header("Content-Length"),
            Some(SIZE.to_string().as_str())
        );
        assert_eq!(response.header("Accept-Ranges"), Some("bytes"));
        let etag = response.header("ETag").expect("ETag");
        assert!(etag.starts_with(&format!("\"{SIZE}-")), "{etag}");
        assert_eq!(response.body, fx.data);
    });
}

#[test]
fn head_gives_length_without_body() {
    bounded(|| {
        let fx = Fixture::start();
        let response = fx.raw_alice("HEAD", &[]);
        assert_eq!(response.status, 200);
        assert_eq!(
            response.header("Content-Length"),
            Some(SIZE.to_string().as_str())
        );
        assert_eq!(response.header("Accept-Ranges"), Some("bytes"));
        assert!(response.header("ETag").is_some());
        assert!(
            response.body.is_empty(),
            "{} body bytes",
            response.body.len()
        );

        let ranged = fx.raw_alice("HEAD", &[("Range", "bytes=10-")]);
        assert_eq!(ranged.status, 206);
        assert_eq!(
            ranged.header("Content-Length"),
            Some((SIZE - 10).to_string().as_str())
        );
        assert!(ranged.body.is_empty());
    });
}

#[test]
fn range_last_byte() {
    bounded(|| {
        let fx = Fixture::start();
        let last = SIZE - 1;
        let expected_range = format!("bytes {last}-{last}/{SIZE}");
        for range in [
            format!("bytes={last}-{last}"),
            format!("bytes={last}-"),
            "bytes=-1".into(),
        ] {
            let response = fx.raw_alice("GET", &[("Range", range.as_str())]);
            assert_eq!(response.status, 206, "{range}");
            assert_eq!(
                response.header("Content-Range"),
                Some(expected_range.as_str()),
                "{range}"
            );
            assert_eq!(response.header("Content-Length"), Some("1"));
            assert_eq!(response.body, [fx.data[last]], "{range}");
        }
    });
}

#[test]
fn range_middle_and_clamped_end() {
    bounded(|| {
        let fx = Fixture::start();
        let response = fx.raw_alice("GET", &[("Range", "bytes=100-199")]);
        assert_eq!(response.status, 206);
        assert_eq!(
            response.header("Content-Range"),
            Some(format!("bytes 100-199/{SIZE}").as_str())
        );
        assert_eq!(response.body, &fx.data[100..200]);

        let response = fx.raw_alice("GET", &[("Range", "bytes=3000000-999999999999")]);
        assert_eq!(response.status, 206);
        assert_eq!(
            response.header("Content-Range"),
            Some(format!("bytes 3000000-{}/{SIZE}", SIZE - 1).as_str())
        );
        assert_eq!(response.body, &fx.data[3_000_000..]);
    });
}

#[test]
fn range_past_end_is_416() {
    bounded(|| {
        let fx = Fixture::start();
        let expected = format!("bytes */{SIZE}");
        for range in [
            format!("bytes={SIZE}-"),
            format!("bytes={}-{}", SIZE + 10, SIZE + 20),
        ] {
            let response = fx.raw_alice("GET", &[("Range", range.as_str())]);
            assert_eq!(response.status, 416, "{range}");
            assert_eq!(response.header("Content-Range"), Some(expected.as_str()));
            assert!(
                response.text().contains("ask for bytes=N-"),
                "{}",
                response.text()
            );
        }
    });
}

#[test]
fn several_ranges_or_stale_if_range_get_the_whole_file() {
    bounded(|| {
        let fx = Fixture::start();
        let multi = fx.raw_alice("GET", &[("Range", "bytes=0-1,5-6")]);
        assert_eq!(multi.status, 200);
        assert_eq!(multi.body, fx.data);

        let etag = multi.header("ETag").expect("ETag").to_string();
        let stale = fx.raw_alice("GET", &[("Range", "bytes=5-"), ("If-Range", "\"0-0\"")]);
        assert_eq!(stale.status, 200);
        assert_eq!(stale.body, fx.data);
        let current = fx.raw_alice("GET", &[("Range", "bytes=5-"), ("If-Range", etag.as_str())]);
        assert_eq!(current.status, 206);
        assert_eq!(current.body, &fx.data[5..]);
    });
}

#[test]
fn other_routes_are_404() {
    bounded(|| {
        let fx = Fixture::start();
        let auth = fx.auth(&alice(), ORDER, unix_now());
        for (method, path) in [
            ("GET", "/"),
            ("GET", "/orders/"),
            ("GET", "/orders/seven"),
            ("GET", "/orders/7/more"),
            ("GET", "/orders/-7"),
            ("POST", "/orders/7"),
            ("DELETE", "/orders/7"),
        ] {
            let response = fx.raw(method, path, &[("Authorization", auth.clone())]);
            assert_eq!(response.status, 404, "{method} {path}");
            assert!(response.body.len() < 200);
        }
        assert_eq!(fx.lookups(), 0);
    });
}

#[test]
fn an_order_not_yet_servable_is_not_ready_for_its_buyer_and_refused_to_others() {
    bounded(|| {
        let fx = Fixture::start();
        let error = fetch(
            &fx.endpoint,
            NOT_SERVABLE_ORDER,
            &alice(),
            &fx.out(),
            &mut |_, _| {},
        )
        .expect_err("not ready");
        assert!(
            matches!(
                error,
                FetchError::NotReady {
                    order: NOT_SERVABLE_ORDER,
                    ..
                }
            ),
            "{error:?}"
        );
        let stranger = sp_core::sr25519::Pair::from_string("//Two", None).unwrap();
        let error = fetch(
            &fx.endpoint,
            NOT_SERVABLE_ORDER,
            &stranger,
            &fx.out(),
            &mut |_, _| {},
        )
        .expect_err("not the buyer");
        assert!(matches!(error, FetchError::NotBuyer { .. }), "{error:?}");
        assert_no_output(&fx.out());
    });
}

#[test]
fn missing_delivery_file_is_not_ready() {
    bounded(|| {
        let fx = Fixture::start();
        let error = fetch(
            &fx.endpoint,
            MISSING_FILE_ORDER,
            &alice(),
            &fx.out(),
            &mut |_, _| {},
        )
        .expect_err("not ready");
        assert!(
            matches!(
                error,
                FetchError::NotReady {
                    order: MISSING_FILE_ORDER,
                    ..
                }
            ),
            "{error:?}"
        );
        assert_no_output(&fx.out());
    });
}

#[test]
fn connection_refused_names_the_endpoint() {
    bounded(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let endpoint = format!("http://{}", closed.local_addr().expect("address"));
        drop(closed);
        let out = dir.path().join("out.sealed");
        let error = fetch(&endpoint, ORDER, &alice(), &out, &mut |_, _| {}).expect_err("refused");
        assert!(matches!(error, FetchError::Connect { .. }), "{error:?}");
        assert!(error.to_string().contains(&endpoint), "{error}");
        assert_no_output(&out);
    });
}

#[test]
fn an_owner_gets_its_own_payout_claims_and_nobody_elses() {
    bounded(|| {
        let fx = Fixture::start();
        assert_eq!(
            fetch_payouts(&fx.endpoint, &alice()).expect("alice's claims"),
            vec![alice_claim()],
            "a u128 amount survives the JSON as a string"
        );
        assert_eq!(
            fetch_payouts(&fx.endpoint, &bob()).expect("bob's claims"),
            vec![]
        );
        assert_eq!(fx.lookups(), 2);
    });
}

#[test]
fn a_payout_request_needs_a_payout_signature_for_this_endpoint() {
    bounded(|| {
        let fx = Fixture::start();
        let now = unix_now();
        let order_signature = fx.auth(&alice(), ORDER, now);
        let other_endpoint =
            Authorization::sign_payouts(&alice(), "http://127.0.0.1:1", now).to_string();
        for auth in [order_signature, other_endpoint] {
            let response = fx.raw("GET", "/payouts", &[("Authorization", auth)]);
            assert_eq!(response.status, 401);
        }
        assert_eq!(fx.raw("GET", "/payouts", &[]).status, 401);
        assert_eq!(fx.lookups(), 0, "no lookup before authentication");

        let wrapped = wrap_bytes(&payout_request_message(&fx.endpoint, now));
        let wallet_signed = Authorization {
            account: alice().public().0,
            timestamp: now,
            signature: alice().sign(&wrapped).0,
        };
        let response = fx.raw(
            "GET",
            "/payouts",
            &[("Authorization", wallet_signed.to_string())],
        );
        assert_eq!(
            response.status, 200,
            "a polkadot.js signRaw signature is accepted"
        );
        let claims: Vec<PayoutClaim> =
            serde_json::from_slice(&response.body).expect("a JSON array of claims");
        assert_eq!(claims, vec![alice_claim()]);
    });
}

#[test]
fn an_owner_gets_its_own_category_salt_and_a_web_page_may_ask_for_it() {
    bounded(|| {
        let fx = Fixture::start();
        let alice_key = alice().public().0;
        assert_eq!(
            fetch_category_salt(&fx.endpoint, &alice()).expect("alice's salt"),
            alice_key.map(|byte| byte ^ 0x5a)
        );
        let payout_signature =
            Authorization::sign_payouts(&alice(), &fx.endpoint, unix_now()).to_string();
        let response = fx.raw(
            "GET",
            "/category-salt",
            &[("Authorization", payout_signature)],
        );
        assert_eq!(
            response.status, 401,
            "a payout signature is not a salt signature"
        );
        let error = fetch_category_salt(&fx.endpoint, &bob()).expect_err("no salt for bob");
        assert!(
            matches!(error, FetchError::Status { status: 503, .. }),
            "{error:?}"
        );

        // A browser's preflight, then its signed request: both carry the CORS headers.
        let preflight = fx.raw(
            "OPTIONS",
            "/category-salt",
            &[
                ("Origin", "http://localhost:5173".into()),
                ("Access-Control-Request-Method", "GET".into()),
                ("Access-Control-Request-Headers", "authorization".into()),
            ],
        );
        assert_eq!(preflight.status, 204);
        assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
        assert!(preflight
            .header("access-control-allow-headers")
            .is_some_and(|allowed| allowed.to_ascii_lowercase().contains("authorization")));
        let signed = Authorization::sign_owner(
            &alice(),
            OwnerRequest::CategorySalt,
            &fx.endpoint,
            unix_now(),
        );
        let response = fx.raw(
            "GET",
            "/category-salt",
            &[
                ("Origin", "http://localhost:5173".into()),
                ("Authorization", signed.to_string()),
            ],
        );
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(response.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            fx.raw("OPTIONS", &format!("/orders/{ORDER}"), &[]).status,
            404,
            "deliveries are not for web pages"
        );
    });
}
