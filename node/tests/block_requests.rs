//! A stranger skips sync altogether and sends a block request straight to a consortium node
//! (validator or regulator observer) over libp2p, as a scraper would. The node must refuse it;
//! the same request from a member's node identity is answered, which shows the request itself
//! is well formed.

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

/// Substrate's request-response framing: an unsigned-LEB128 length, then the payload.
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
    io.write_all(payload).await?;
    io.close().await
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
        write_frame(io, &request).await
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
        write_frame(io, &response).await
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

/// Dials `node` with the ed25519 node key `secret` and sends one block request on the chain's
/// sync protocol. `Ok` is the response payload; `Err` how the request failed.
fn request_block(node: &Node, secret: u8, request: Vec<u8>) -> Result<Vec<u8>, String> {
    let genesis = node.block_hash(0)?.ok_or("no genesis")?;
    let protocol = StreamProtocol::try_from_owned(format!("/{}/sync/2", &genesis[2..]))
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
                    LengthPrefixed,
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

/// Sends the same block request from a stranger's and from a member's node identity.
fn assert_refuses_strangers_and_answers_members(node: &Node) {
    let block_1 = decode_hex(&node.block_hash(1).unwrap().unwrap()).unwrap();

    // A stranger's node identity (node key 5): no blocks, whatever it asks.
    let stranger = peer_id_of(5);
    let refused = request_block(node, 5, header_request(1));
    assert!(refused.is_err(), "the stranger got an answer: {refused:?}");
    wait_until(
        &format!("{} to log the refusal", node.name),
        Duration::from_secs(10),
        || {
            Ok(node
                .log()
                .contains(&format!("request from unauthorised peer {stranger}"))
                .then_some(()))
        },
    )
    .unwrap();

    // Bob's node identity (node key 2, a member): the same request gets block #1.
    let response = request_block(node, 2, header_request(1)).expect("a member is answered");
    let block = first_bytes_field(&response, 1).expect("the response holds a block");
    assert_eq!(
        first_bytes_field(block, 1),
        Some(&block_1[..]),
        "it is block #1"
    );
}

#[test]
fn direct_block_requests_from_a_stranger_are_refused_by_validators_and_observers() {
    let mut net = Network::new(NODE);
    // The development chain: Alice authors alone; node keys 1–4 are the members' nodes and
    // node key 6 is the regulator's observer.
    net.start_node("alice", &["--dev", "--node-key", &format!("{:064x}", 1)])
        .unwrap();
    net.start_node(
        "regulator",
        &[
            "--chain",
            "dev",
            "--observer",
            "--node-key",
            &format!("{:064x}", 6),
        ],
    )
    .unwrap();
    for name in ["alice", "regulator"] {
        let node = net.node(name);
        wait_until(
            &format!("{name} at block #2"),
            Duration::from_secs(60),
            || Ok((node.best_number()? >= 2).then_some(())),
        )
        .unwrap();
    }
    assert_refuses_strangers_and_answers_members(net.node("alice"));
    assert_refuses_strangers_and_answers_members(net.node("regulator"));
}
