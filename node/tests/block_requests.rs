//! A stranger skips sync altogether and sends requests straight to a consortium node (validator
//! or regulator observer) over libp2p, as a scraper would: a block request, a state request, a
//! light-client remote read and a remote runtime call. The node must refuse each of them and
//! return nothing; the same request from a member's node identity is answered, which shows the
//! request itself is well formed. Each stranger request comes from a fresh identity, so the
//! refusal is the guard's (logged per protocol), not the ban an earlier refusal caused.
//!
//! A stranger may also open the chain's notification substreams, to push block announces,
//! transactions or GRANDPA messages: each is refused at its handshake (the node answers with no
//! handshake of its own, so nothing can be pushed). A member's node identity, connected as a
//! peer node is, gets the node's handshake on each, and a transfer it pushes on the
//! transactions substream is included.

use std::time::Duration;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::{
    identity::Keypair,
    multiaddr::Protocol,
    noise,
    request_response::{self, ProtocolSupport},
    swarm::{dial_opts::DialOpts, NetworkBehaviour, SwarmEvent},
    tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm, SwarmBuilder,
};
use medledger_runtime::RuntimeCall;
use medledger_test_harness::{decode_hex, wait_until, Network, Node};
use sp_keyring::Sr25519Keyring;

mod support;

const NODE: &str = env!("CARGO_BIN_EXE_medledger-node");

/// Substrate's request-response framing (notifications frame the same way): an
/// unsigned-LEB128 length, then the payload. A request closes our side of the substream after
/// writing it.
#[derive(Clone, Default)]
struct LengthPrefixed;

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
        io.close().await
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

/// A swarm that speaks as Substrate nodes do (TCP, noise, yamux) with `behaviour`; built within
/// a tokio runtime.
fn swarm<B: NetworkBehaviour>(keypair: Keypair, behaviour: B) -> Result<Swarm<B>, String> {
    Ok(SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| e.to_string())?
        .with_behaviour(|_| behaviour)
        .map_err(|e| e.to_string())?
        .with_swarm_config(|config| config.with_idle_connection_timeout(Duration::from_secs(300)))
        .build())
}

/// Dials `node` with the ed25519 node key `secret` and sends one request on the chain's
/// request-response protocol `/{genesis}/{protocol}`. `Ok` is the response payload; `Err` how
/// the request failed.
fn request(node: &Node, secret: u8, protocol: &str, request: Vec<u8>) -> Result<Vec<u8>, String> {
    let genesis = node.block_hash(0)?.ok_or("no genesis")?;
    let protocol = StreamProtocol::try_from_owned(format!("/{}/{protocol}", &genesis[2..]))
        .map_err(|e| e.to_string())?;
    let (address, target) = dial_target(node)?;
    let keypair = node_key(secret);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let mut swarm = swarm(
            keypair,
            request_response::Behaviour::with_codec(
                LengthPrefixed,
                [(protocol, ProtocolSupport::Outbound)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(20)),
            ),
        )?;
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

/// A bare client that stays connected to a node, as a peer node does: it holds the substreams
/// it opens, and answers the substreams the node opens back with its own handshakes (read and
/// dropped notifications aside), so the node counts it as a connected peer. Sync, transactions
/// and GRANDPA accept their substreams only from such a peer.
struct NotificationPeer {
    runtime: tokio::runtime::Runtime,
    control: libp2p_stream::Control,
    target: PeerId,
    genesis: Vec<u8>,
    /// The substreams this client opened, by protocol, held open.
    opened: Vec<(String, libp2p::Stream)>,
}

/// This client's handshake on a notification protocol: its block-announce handshake, or its
/// `Roles` (a full node) elsewhere.
fn our_handshake(protocol: &str, genesis: &[u8]) -> Vec<u8> {
    const ROLE_FULL: u8 = 0b0000_0001;
    if protocol == "block-announces/1" {
        block_announces_handshake(genesis)
    } else {
        vec![ROLE_FULL]
    }
}

impl NotificationPeer {
    const PROTOCOLS: [&'static str; 3] = ["block-announces/1", "transactions/1", "grandpa/1"];

    /// Connects to `node` with the ed25519 node key `secret`.
    fn connect(node: &Node, secret: u8) -> Result<Self, String> {
        let genesis = decode_hex(&node.block_hash(0)?.ok_or("no genesis")?)?;
        let (address, target) = dial_target(node)?;
        let keypair = node_key(secret);
        // Its own worker thread drives the connection between the test's calls.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let mut swarm =
            runtime.block_on(async { swarm(keypair, libp2p_stream::Behaviour::new()) })?;
        let mut control = swarm.behaviour().new_control();
        for protocol in Self::PROTOCOLS {
            let name = Self::protocol_name(&genesis, protocol)?;
            let mut incoming = control.accept(name).map_err(|e| e.to_string())?;
            let handshake = our_handshake(protocol, &genesis);
            runtime.spawn(async move {
                while let Some((_, mut stream)) = incoming.next().await {
                    let handshake = handshake.clone();
                    tokio::spawn(async move {
                        if read_frame(&mut stream).await.is_ok()
                            && write_frame(&mut stream, &handshake).await.is_ok()
                            && stream.flush().await.is_ok()
                        {
                            while read_frame(&mut stream).await.is_ok() {}
                        }
                    });
                }
            });
        }
        let (connected, established) = futures::channel::oneshot::channel();
        runtime.spawn(async move {
            let mut connected = Some(connected);
            let dial = DialOpts::peer_id(target).addresses(vec![address]).build();
            if let Err(error) = swarm.dial(dial) {
                let _ = connected
                    .take()
                    .map(|c| c.send(Err(format!("dial: {error}"))));
            }
            loop {
                match swarm.select_next_some().await {
                    SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == target => {
                        if let Some(connected) = connected.take() {
                            let _ = connected.send(Ok(()));
                        }
                    }
                    SwarmEvent::OutgoingConnectionError { error, .. } => {
                        if let Some(connected) = connected.take() {
                            let _ = connected.send(Err(format!("dial failed: {error}")));
                        }
                    }
                    _ => {}
                }
            }
        });
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(30), established)
                .await
                .map_err(|_| "not connected within 30 s".to_string())?
                .map_err(|_| "the connection task ended".to_string())?
        })?;
        Ok(Self {
            runtime,
            control,
            target,
            genesis,
            opened: Vec::new(),
        })
    }

    fn protocol_name(genesis: &[u8], protocol: &str) -> Result<StreamProtocol, String> {
        let genesis: String = genesis.iter().map(|b| format!("{b:02x}")).collect();
        StreamProtocol::try_from_owned(format!("/{genesis}/{protocol}")).map_err(|e| e.to_string())
    }

    /// Opens the notification substream `protocol` with this client's handshake and holds it
    /// open. `Ok` is the node's handshake in answer; `Err` says how the node refused.
    fn open(&mut self, protocol: &str) -> Result<Vec<u8>, String> {
        let name = Self::protocol_name(&self.genesis, protocol)?;
        let handshake = our_handshake(protocol, &self.genesis);
        let (target, mut control) = (self.target, self.control.clone());
        let (stream, answer) = self.runtime.block_on(async move {
            let exchange = async {
                let mut stream = control
                    .open_stream(target, name)
                    .await
                    .map_err(|e| e.to_string())?;
                write_frame(&mut stream, &handshake)
                    .await
                    .map_err(|e| e.to_string())?;
                stream.flush().await.map_err(|e| e.to_string())?;
                let answer = read_frame(&mut stream)
                    .await
                    .map_err(|e| format!("no handshake in answer: {e}"))?;
                Ok::<_, String>((stream, answer))
            };
            tokio::time::timeout(Duration::from_secs(20), exchange)
                .await
                .map_err(|_| "no answer within 20 s".to_string())?
        })?;
        self.opened.push((protocol.to_string(), stream));
        Ok(answer)
    }

    /// Sends `message` on the substream this client opened for `protocol`.
    fn notify(&mut self, protocol: &str, message: &[u8]) -> Result<(), String> {
        let (_, stream) = self
            .opened
            .iter_mut()
            .find(|(opened, _)| opened == protocol)
            .ok_or_else(|| format!("no {protocol} substream open"))?;
        self.runtime.block_on(async {
            write_frame(stream, message)
                .await
                .map_err(|e| e.to_string())?;
            stream.flush().await.map_err(|e| e.to_string())
        })
    }
}

/// The ed25519 node key `--node-key` takes as the number `secret` (Alice's node 1, Bob's 2, …).
fn node_key(secret: u8) -> Keypair {
    let mut seed = [0u8; 32];
    seed[31] = secret;
    Keypair::ed25519_from_bytes(seed).expect("a valid ed25519 seed")
}

fn peer_id_of(secret: u8) -> PeerId {
    node_key(secret).public().to_peer_id()
}

/// `node`'s p2p address and the peer id in it.
fn dial_target(node: &Node) -> Result<(Multiaddr, PeerId), String> {
    let address: Multiaddr = node.multiaddr()?.parse().map_err(|e| format!("{e}"))?;
    match address.iter().last() {
        Some(Protocol::P2p(target)) => Ok((address, target)),
        _ => Err(format!("no peer id in {address}")),
    }
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

/// A stranger's notification substreams are refused at the handshake, so it can push nothing:
/// no block announce, transaction or GRANDPA message. A member's node identity, connected as a
/// peer node is (its block-announce substream held open both ways), gets the node's handshake
/// on each of them, for this chain's genesis: the same substreams are well formed.
fn assert_refuses_strangers_notifications(node: &Node) {
    let genesis = decode_hex(&node.block_hash(0).unwrap().unwrap()).unwrap();
    let mut member = NotificationPeer::connect(node, 2)
        .unwrap_or_else(|e| panic!("{}: a member's connection: {e}", node.name));
    let answer = member
        .open("block-announces/1")
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
    for protocol in ["transactions/1", "grandpa/1"] {
        // The node learns of the member's block-announce substream asynchronously.
        let answer = wait_until(
            &format!("{}: a member's {protocol} handshake answered", node.name),
            Duration::from_secs(20),
            || Ok(member.open(protocol).ok()),
        )
        .unwrap();
        assert_eq!(
            answer.len(),
            1,
            "{}: {protocol} handshake {answer:?}",
            node.name
        );
    }

    for (i, protocol) in NotificationPeer::PROTOCOLS.into_iter().enumerate() {
        // Node keys 120, 121, …: identities no member authorised, one per substream.
        let mut stranger = NotificationPeer::connect(node, 120 + i as u8)
            .unwrap_or_else(|e| panic!("{}: a stranger's connection: {e}", node.name));
        if protocol != "block-announces/1" {
            // As a member would: block announces first (refused too).
            let _ = stranger.open("block-announces/1");
        }
        let error = stranger.open(protocol).expect_err(&format!(
            "{}: a stranger's {protocol} substream was answered",
            node.name
        ));
        // The node speaks the protocol (so the name is right) and refused the stranger.
        assert!(
            !error.contains("does not support"),
            "{}: {protocol}: {error}",
            node.name
        );
    }
}

/// `Transactions` notification (sc-network-transactions): a SCALE vector of encoded extrinsics.
fn transactions_notification(extrinsic_hex: &str) -> Vec<u8> {
    let mut message = vec![1 << 2]; // compact length 1
    message.extend(decode_hex(extrinsic_hex).unwrap());
    message
}

/// A transfer a member's identity pushes on the transactions substream reaches the chain: the
/// substream a stranger is refused (`assert_refuses_strangers_notifications`) carries
/// transactions.
fn assert_a_members_pushed_transaction_is_included(node: &Node) {
    let ferdie_before = support::free_balance(node, Sr25519Keyring::Ferdie).unwrap();
    let transfer = support::signed(
        node,
        Sr25519Keyring::Alice,
        RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
            dest: Sr25519Keyring::Ferdie.to_account_id().into(),
            value: 1_000,
        }),
    )
    .unwrap();

    let mut member = NotificationPeer::connect(node, 2).unwrap();
    member.open("block-announces/1").unwrap();
    wait_until(
        &format!("{}: a member's transactions handshake answered", node.name),
        Duration::from_secs(20),
        || Ok(member.open("transactions/1").ok()),
    )
    .unwrap();
    member
        .notify("transactions/1", &transactions_notification(&transfer))
        .unwrap();
    wait_until(
        &format!("{}: the member's pushed transfer included", node.name),
        Duration::from_secs(60),
        || {
            let ferdie = support::free_balance(node, Sr25519Keyring::Ferdie)?;
            Ok((ferdie == ferdie_before + 1_000).then_some(()))
        },
    )
    .unwrap();
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
    assert_a_members_pushed_transaction_is_included(net.node("alice"));
}

#[test]
fn direct_requests_from_a_stranger_are_refused_with_litep2p() {
    let net = start_dev_network(&["--network-backend", "litep2p"]);
    for node in ["alice", "regulator"] {
        assert_refuses_strangers_and_answers_members(net.node(node));
        assert_refuses_strangers_notifications(net.node(node));
    }
    assert_a_members_pushed_transaction_is_included(net.node("alice"));
}
