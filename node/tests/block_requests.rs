//! A stranger skips sync altogether and sends requests straight to a consortium node (validator
//! or regulator observer) over libp2p, as a scraper would: a block request, a state request, a
//! light-client remote read and a remote runtime call. The node must refuse each of them and
//! return nothing; the same request from a member's node identity is answered, which shows the
//! request itself is well formed. Each stranger request comes from a fresh identity, so the
//! refusal is the guard's (logged per protocol), not the ban an earlier refusal caused.
//!
//! A stranger may also open the chain's notification substreams, to push block announces,
//! transactions or GRANDPA messages: each is refused at its handshake (the node answers with no
//! handshake of its own, so nothing can be pushed), while a member's block-announce handshake is
//! answered with the node's own.

use std::time::Duration;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::{
    identity::Keypair,
    multiaddr::Protocol,
    noise,
    request_response::{self, ProtocolSupport},
    swarm::{dial_opts::DialOpts, SwarmEvent},
    tcp, yamux, Multiaddr, PeerId, StreamProtocol, SwarmBuilder,
};
use medledger_test_harness::{decode_hex, wait_until, Network, Node};

const NODE: &str = env!("CARGO_BIN_EXE_medledger-node");

/// Substrate's request-response and notification framing: an unsigned-LEB128 length, then the
/// payload. A request closes our side of the substream after writing it; a notification
/// handshake leaves it open, as a notification substream stays open.
#[derive(Clone, Default)]
struct LengthPrefixed {
    keep_open: bool,
}

async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T) -> std::io::Result<Vec<u8>> {
    let mut len = 0usize;
    for shift in (0..35).step_by(7) {
        let mut byte = [0u8];
        io.read_exact(&mut byte).await?;
        len |= usize::from(byte[0] & 0x7f) << shift;
        if byte[0] & 0x80 == 0 {
            let mut payload = vec![0; len];
            io.read_exact(&mut payload).await?;
            return Ok(payload);
        }
    }
    Err(std::io::Error::other("length prefix too long"))
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(
    io: &mut T,
    payload: &[u8],
) -> std::io::Result<()> {
    let mut len = payload.len();
    let mut prefix = Vec::new();
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        prefix.push(if len == 0 { byte } else { byte | 0x80 });
        if len == 0 {
            break;
        }
    }
    io.write_all(&prefix).await?;
    io.write_all(payload).await
}

#[async_trait::async_trait]
impl request_response::Codec for LengthPrefixed {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Vec<u8>,
    ) -> std::io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &request).await?;
        if self.keep_open {
            io.flush().await
        } else {
            io.close().await
        }
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Vec<u8>,
    ) -> std::io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &response).await?;
        io.close().await
    }
}

/// `api.v1.BlockRequest` (sc-network-sync's schema) for the header of block `number`:
/// fields = HEADER, from_block.number = SCALE u32, max_blocks = 1.
fn header_request(number: u32) -> Vec<u8> {
    let mut request = vec![0x08, 0x01, 0x1a, 0x04];
    request.extend(number.to_le_bytes());
    request.extend([0x30, 0x01]);
    request
}

/// The first length-delimited field `field` of a protobuf message (enough for the response:
/// `BlockResponse.blocks[0]`, then `BlockData.hash`).
fn first_bytes_field(message: &[u8], field: u8) -> Option<&[u8]> {
    let mut rest = message;
    while let Some((&tag, tail)) = rest.split_first() {
        let (len, tail) = match tag & 0x07 {
            2 => {
                let (len, used) = varint(tail)?;
                (len, &tail[used..])
            }
            0 => {
                let (_, used) = varint(tail)?;
                rest = &tail[used..];
                continue;
            }
            _ => return None,
        };
        if tail.len() < len {
            return None;
        }
        if tag >> 3 == field {
            return Some(&tail[..len]);
        }
        rest = &tail[len..];
    }
    None
}

fn varint(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (i, byte) in bytes.iter().enumerate().take(5) {
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// `api.v1.StateRequest` for the whole state at `block`, without proof: block = 1 (bytes),
/// no_proof = 3 (true).
fn state_request(block: &[u8]) -> Vec<u8> {
    [&[0x0a, block.len() as u8][..], block, &[0x18, 0x01]].concat()
}

/// `api.v1.light.Request` with a `RemoteReadRequest` (field 2) of `key` at `block`.
fn remote_read_request(block: &[u8], key: &[u8]) -> Vec<u8> {
    let read = [
        &[0x12, block.len() as u8][..],
        block,
        &[0x1a, key.len() as u8],
        key,
    ]
    .concat();
    [&[0x12, read.len() as u8][..], &read].concat()
}

/// `api.v1.light.Request` with a `RemoteCallRequest` (field 1) of runtime API `method` with
/// SCALE-encoded `data` at `block`.
fn remote_call_request(block: &[u8], method: &str, data: &[u8]) -> Vec<u8> {
    let call = [
        &[0x12, block.len() as u8][..],
        block,
        &[0x1a, method.len() as u8],
        method.as_bytes(),
        &[0x22, data.len() as u8],
        data,
    ]
    .concat();
    [&[0x0a, call.len() as u8][..], &call].concat()
}

/// Dials `node` with the ed25519 node key `secret` and sends one request on the chain's
/// request-response protocol `/{genesis}/{protocol}`. `Ok` is the response payload; `Err` how
/// the request failed.
fn request(node: &Node, secret: u8, protocol: &str, request: Vec<u8>) -> Result<Vec<u8>, String> {
    exchange(
        node,
        secret,
        protocol,
        request,
        LengthPrefixed { keep_open: false },
    )
}

/// Dials `node` with node key `secret`, opens the notification substream `/{genesis}/{protocol}`
/// with `handshake`, and returns the node's handshake in answer (`Err` if it refused).
fn open_notifications(
    node: &Node,
    secret: u8,
    protocol: &str,
    handshake: Vec<u8>,
) -> Result<Vec<u8>, String> {
    exchange(
        node,
        secret,
        protocol,
        handshake,
        LengthPrefixed { keep_open: true },
    )
}

/// One frame sent on a new substream of `/{genesis}/{protocol}` and the first frame back.
fn exchange(
    node: &Node,
    secret: u8,
    protocol: &str,
    request: Vec<u8>,
    codec: LengthPrefixed,
) -> Result<Vec<u8>, String> {
    let genesis = node.block_hash(0)?.ok_or("no genesis")?;
    let protocol = StreamProtocol::try_from_owned(format!("/{}/{protocol}", &genesis[2..]))
        .map_err(|e| e.to_string())?;
    let address: Multiaddr = node.multiaddr()?.parse().map_err(|e| format!("{e}"))?;
    let Some(Protocol::P2p(target)) = address.iter().last() else {
        return Err(format!("no peer id in {address}"));
    };
    let mut seed = [0u8; 32];
    seed[31] = secret;
    let keypair = Keypair::ed25519_from_bytes(seed).map_err(|e| e.to_string())?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let mut swarm = SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(
                tcp::Config::default(),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| e.to_string())?
            .with_behaviour(|_| {
                request_response::Behaviour::with_codec(
                    codec,
                    [(protocol, ProtocolSupport::Outbound)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(20)),
                )
            })
            .map_err(|e| e.to_string())?
            .build();
        swarm
            .dial(DialOpts::peer_id(target).addresses(vec![address]).build())
            .map_err(|e| e.to_string())?;
        let mut request = Some(request);
        let outcome = async {
            loop {
                match swarm.select_next_some().await {
                    SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == target => {
                        if let Some(request) = request.take() {
                            swarm.behaviour_mut().send_request(&target, request);
                        }
                    }
                    SwarmEvent::Behaviour(request_response::Event::Message {
                        message: request_response::Message::Response { response, .. },
                        ..
                    }) => return Ok(response),
                    SwarmEvent::Behaviour(request_response::Event::OutboundFailure {
                        error,
                        ..
                    }) => return Err(format!("request failed: {error}")),
                    SwarmEvent::OutgoingConnectionError { error, .. } => {
                        return Err(format!("dial failed: {error}"))
                    }
                    _ => {}
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(30), outcome)
            .await
            .map_err(|_| "no answer within 30 s".to_string())?
    })
}

fn peer_id_of(secret: u8) -> PeerId {
    let mut seed = [0u8; 32];
    seed[31] = secret;
    Keypair::ed25519_from_bytes(seed)
        .expect("a valid ed25519 seed")
        .public()
        .to_peer_id()
}

/// One kind of request a stranger might send, and how to recognise a real answer.
struct Probe {
    /// The name the guard logs for the protocol.
    name: &'static str,
    /// The protocol name after the genesis hash.
    protocol: &'static str,
    payload: Vec<u8>,
    /// Field numbers from the response down to a non-empty bytes field a real answer holds.
    answer_path: &'static [u8],
}

fn probes(node: &Node) -> Vec<Probe> {
    let finalized = decode_hex(&node.finalized_hash().unwrap()).unwrap();
    let system_number = [
        sp_io::hashing::twox_128(b"System"),
        sp_io::hashing::twox_128(b"Number"),
    ]
    .concat();
    vec![
        Probe {
            name: "block",
            protocol: "sync/2",
            payload: header_request(1),
            // BlockResponse.blocks[0].hash
            answer_path: &[1, 1],
        },
        Probe {
            name: "state",
            protocol: "state/2",
            payload: state_request(&finalized),
            // StateResponse.entries[0].entries[0].key
            answer_path: &[1, 2, 1],
        },
        Probe {
            name: "light-client",
            protocol: "light/2",
            payload: remote_read_request(&finalized, &system_number),
            // Response.remote_read_response.proof
            answer_path: &[2, 2],
        },
        Probe {
            name: "light-client",
            protocol: "light/2",
            payload: remote_call_request(&finalized, "ConsortiumApi_authorized_peers", &[]),
            // Response.remote_call_response.proof
            answer_path: &[1, 2],
        },
    ]
}

/// Sends each probe from a fresh stranger's identity, then from a member's (Bob's node key 2).
fn assert_refuses_strangers_and_answers_members(node: &Node) {
    for (i, probe) in probes(node).into_iter().enumerate() {
        // Node keys 100, 101, …: identities no member authorised, one per probe.
        let secret = 100 + i as u8;
        let stranger = peer_id_of(secret);
        let refused = request(node, secret, probe.protocol, probe.payload.clone());
        assert!(
            refused.is_err(),
            "{}: the stranger's {} request got an answer: {refused:?}",
            node.name,
            probe.protocol
        );
        wait_until(
            &format!(
                "{} to log refusing the {} request",
                node.name, probe.protocol
            ),
            Duration::from_secs(10),
            || {
                Ok(node
                    .log()
                    .contains(&format!(
                        "refused a {} request from unauthorised peer {stranger}",
                        probe.name
                    ))
                    .then_some(()))
            },
        )
        .unwrap();

        let response = request(node, 2, probe.protocol, probe.payload).unwrap_or_else(|e| {
            panic!("{}: a member's {} request: {e}", node.name, probe.protocol)
        });
        let answer = probe
            .answer_path
            .iter()
            .try_fold(&response[..], |message, &field| {
                first_bytes_field(message, field)
            });
        assert!(
            answer.is_some_and(|bytes| !bytes.is_empty()),
            "{}: a member's {} request got no real answer ({} bytes, no field {:?})",
            node.name,
            probe.protocol,
            response.len(),
            probe.answer_path
        );
    }
}

/// `BlockAnnouncesHandshake` (sc-network-sync): roles (full node), best number, best hash,
/// genesis hash — as a freshly started full node at genesis sends it.
fn block_announces_handshake(genesis: &[u8]) -> Vec<u8> {
    const ROLE_FULL: u8 = 0b0000_0001;
    let mut handshake = vec![ROLE_FULL];
    handshake.extend(0u32.to_le_bytes());
    handshake.extend(genesis);
    handshake.extend(genesis);
    handshake
}

/// A stranger's notification substreams are refused at the handshake; a member's block
/// announces are answered with the node's handshake, for this chain's genesis. The
/// transactions and GRANDPA substreams use the same framing and a one-byte `Roles` handshake;
/// a node accepts them only from peers it syncs with, so no bare member client gets an answer
/// there either, and the block-announce answer is what shows the framing is right.
fn assert_refuses_strangers_notifications(node: &Node) {
    let genesis = decode_hex(&node.block_hash(0).unwrap().unwrap()).unwrap();
    let answer = open_notifications(
        node,
        2,
        "block-announces/1",
        block_announces_handshake(&genesis),
    )
    .unwrap_or_else(|e| panic!("{}: a member's block-announce handshake: {e}", node.name));
    assert_eq!(
        answer.len(),
        69,
        "{}: the node's handshake {answer:?}",
        node.name
    );
    assert_eq!(
        answer[37..],
        genesis[..],
        "{}: the node's genesis",
        node.name
    );

    const ROLE_FULL: u8 = 0b0000_0001;
    let pushes = [
        ("block-announces/1", block_announces_handshake(&genesis)),
        ("transactions/1", vec![ROLE_FULL]),
        ("grandpa/1", vec![ROLE_FULL]),
    ];
    for (i, (protocol, handshake)) in pushes.into_iter().enumerate() {
        // Node keys 120, 121, …: identities no member authorised, one per substream.
        let refused = open_notifications(node, 120 + i as u8, protocol, handshake);
        let error = refused.expect_err(&format!(
            "{}: a stranger's {protocol} substream was answered",
            node.name
        ));
        // The node speaks the protocol (so the name is right) and refused the stranger.
        assert!(
            !error.contains("supports none of the requested protocols"),
            "{}: {protocol}: {error}",
            node.name
        );
    }
}

/// Starts Alice's development validator and the regulator's observer with `args` (a network
/// backend), each past block 2.
fn start_dev_network(args: &[&str]) -> Network {
    let mut net = Network::new(NODE);
    // The development chain: Alice authors alone; node keys 1–4 are the members' nodes and
    // node key 6 is the regulator's observer.
    let alice_key = format!("{:064x}", 1);
    let regulator_key = format!("{:064x}", 6);
    let mut alice = vec!["--dev", "--node-key", &alice_key];
    alice.extend(args);
    net.start_node("alice", &alice).unwrap();
    let mut regulator = vec!["--chain", "dev", "--observer", "--node-key", &regulator_key];
    regulator.extend(args);
    net.start_node("regulator", &regulator).unwrap();
    for name in ["alice", "regulator"] {
        let node = net.node(name);
        wait_until(
            &format!("{name} at finalized block #2"),
            Duration::from_secs(90),
            || Ok((node.finalized_number()? >= 2).then_some(())),
        )
        .unwrap();
    }
    net
}

#[test]
fn direct_requests_from_a_stranger_are_refused_by_validators_and_observers() {
    let net = start_dev_network(&[]);
    for node in ["alice", "regulator"] {
        assert_refuses_strangers_and_answers_members(net.node(node));
        assert_refuses_strangers_notifications(net.node(node));
    }
}

#[test]
fn direct_requests_from_a_stranger_are_refused_with_litep2p() {
    let net = start_dev_network(&["--network-backend", "litep2p"]);
    for node in ["alice", "regulator"] {
        assert_refuses_strangers_and_answers_members(net.node(node));
        assert_refuses_strangers_notifications(net.node(node));
    }
}
