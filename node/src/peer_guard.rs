//! Only the consortium's nodes may talk to this node.
//!
//! The authorised peer ids — every member hospital's and registered regulator's node — are read
//! from the chain (`ConsortiumApi::authorized_peers`) at the *finalized* block, and re-read
//! whenever it moves (checked on every block import and finality notification, initial sync
//! included). Three mechanisms keep everyone else out, on validators and observers alike, with
//! either network backend:
//!
//! 1. **Every request-response server answers authorised peers only.** The node builds the
//!    network itself (`crate::network`) and routes the inbound queue of every protocol it serves
//!    (block, state, light client) through [`guard_inbound_requests`]: a request from any other
//!    peer is answered with an error and a fatal reputation change (a ban), without reaching
//!    the server. No warp-sync proofs are served at all.
//! 2. **Strangers are refused before any handshake.** The block-announce peer set is
//!    reserved-only and its reserved peers are the authorised ones ([`run`] keeps them equal):
//!    a stranger's block-announce substream is refused (so it never gets our best block), and
//!    the transactions and GRANDPA protocols only open substreams to connected sync peers.
//! 3. **Removed members are dropped** at the finalized block that removed them: they leave the
//!    reserved set (which disconnects them) and are banned; their requests are refused by (1).
//!
//! A node that starts far behind knows only the members of its own finalized state. If none of
//! them is reachable any more (every node it can reach joined later), it would never sync. The
//! bootnodes its operator named are therefore its **sync sources** while it catches up: they are
//! reserved (and not banned) even if its state does not authorise them yet, until an authorised
//! peer is connected and the node is no longer far behind; then only authorised peers remain.
//! Blocks from a sync source are checked like any others (Aura seals, GRANDPA justifications);
//! what a source learns is this node's best block, which it has itself. Its requests are still
//! refused by (1).
//!
//! The guard's tasks are essential: if one fails the node stops, logging why.

use std::{
    collections::HashSet,
    sync::{Arc, RwLock},
};

use futures::{channel::oneshot, StreamExt};
use medledger_runtime::{opaque::Block, AccountId};
use pallet_consortium_runtime_api::ConsortiumApi;
use sc_client_api::BlockchainEvents;
use sc_network::{
    multiaddr::Protocol,
    request_responses::{IncomingRequest, OutgoingResponse},
    service::traits::NetworkService,
    Multiaddr, PeerId, ProtocolName, ReputationChange,
};
use sc_network_sync::{types::SyncEventStream, SyncEvent, SyncingService};
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_consensus::SyncOracle;
use sp_runtime::traits::Block as BlockT;

const LOG_TARGET: &str = "medledger::peer-guard";

/// The reputation change that bans a peer for good (below `BANNED_THRESHOLD`).
const NOT_AUTHORISED: ReputationChange =
    ReputationChange::new_fatal("not an authorised consortium node");

/// The peer ids allowed to talk to this node, shared between the guard's tasks.
#[derive(Clone, Default)]
pub struct PeerAllowlist(Arc<RwLock<HashSet<PeerId>>>);

impl PeerAllowlist {
    pub fn contains(&self, peer: &PeerId) -> bool {
        self.0.read().map(|set| set.contains(peer)).unwrap_or(false)
    }

    /// Replaces the list; returns whether it changed.
    fn replace(&self, peers: HashSet<PeerId>) -> bool {
        match self.0.write() {
            Ok(mut set) if *set != peers => {
                *set = peers;
                true
            }
            _ => false,
        }
    }

    fn len(&self) -> usize {
        self.0.read().map(|set| set.len()).unwrap_or(0)
    }

    fn peers(&self) -> HashSet<PeerId> {
        self.0.read().map(|set| set.clone()).unwrap_or_default()
    }
}

/// The authorised peers according to the runtime at block `at`.
pub fn authorized_peers<C>(
    client: &C,
    at: <Block as BlockT>::Hash,
) -> Result<HashSet<PeerId>, String>
where
    C: ProvideRuntimeApi<Block>,
    C::Api: ConsortiumApi<Block, AccountId>,
{
    let peers = client
        .runtime_api()
        .authorized_peers(at)
        .map_err(|e| format!("cannot read the consortium's authorised peers: {e}"))?;
    Ok(peers
        .into_iter()
        .filter_map(|(bytes, _role)| match PeerId::from_bytes(&bytes) {
            Ok(peer) => Some(peer),
            Err(e) => {
                log::warn!(target: LOG_TARGET, "ignoring an undecodable authorised peer id: {e}");
                None
            }
        })
        .collect())
}

/// Forwards the requests of authorised peers to the protocol's server and refuses the rest;
/// returns (an essential task: the node stops) if the server stopped.
pub async fn guard_inbound_requests(
    name: &'static str,
    incoming: async_channel::Receiver<IncomingRequest>,
    server: async_channel::Sender<IncomingRequest>,
    allowlist: PeerAllowlist,
) {
    let mut incoming = std::pin::pin!(incoming);
    while let Some(request) = incoming.next().await {
        if allowlist.contains(&request.peer) {
            if server.send(request).await.is_err() {
                log::error!(target: LOG_TARGET, "the {name} request server stopped; stopping the node");
                return;
            }
        } else {
            log::info!(target: LOG_TARGET, "refused a {name} request from unauthorised peer {}", request.peer);
            refuse(request.pending_response);
        }
    }
}

fn refuse(pending_response: oneshot::Sender<OutgoingResponse>) {
    let _ = pending_response.send(OutgoingResponse {
        result: Err(()),
        reputation_changes: vec![NOT_AUTHORISED],
        sent_feedback: None,
    });
}

fn ban(network: &dyn NetworkService, peer: PeerId) {
    log::info!(target: LOG_TARGET, "banning unauthorised peer {peer}");
    network.report_peer(peer, NOT_AUTHORISED);
}

/// Keeps the allowlist current and bans unauthorised sync peers, for the node's lifetime.
///
/// Spawn it as an essential task: it returns only if the guard can no longer do its job (the
/// authorised set cannot be read, or the client stopped), and then the node must stop rather
/// than keep running with a frozen list. The reason is logged as an error first.
///
/// `bootnodes` are the peers the operator named: the node's sync sources while it catches up
/// (see the module docs).
pub async fn run<C>(
    client: Arc<C>,
    network: Arc<dyn NetworkService>,
    sync: Arc<SyncingService<Block>>,
    allowlist: PeerAllowlist,
    block_announces: ProtocolName,
    bootnodes: HashSet<PeerId>,
) where
    C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + BlockchainEvents<Block> + Send + Sync,
    C::Api: ConsortiumApi<Block, AccountId>,
{
    let sources = SyncSources::new(bootnodes, &allowlist);
    let failure = keep_current(
        &*client,
        &*network,
        &sync,
        &allowlist,
        sources,
        block_announces,
    )
    .await;
    log::error!(
        target: LOG_TARGET,
        "the peer guard failed: {failure}; stopping the node rather than run it unguarded"
    );
}

/// The guard's loop; returns only with the reason it cannot go on.
///
/// The allowlist follows the *finalized* block: a membership change counts once it cannot be
/// reverted, and a fork cannot admit anyone. It is re-read whenever the finalized block moved,
/// checked on every block import (including those of initial sync, which sends no "new best"
/// notifications) and on every finality notification, so a node that starts far behind learns
/// the members admitted since genesis as it syncs instead of at the tip.
async fn keep_current<C>(
    client: &C,
    network: &dyn NetworkService,
    sync: &SyncingService<Block>,
    allowlist: &PeerAllowlist,
    mut sources: SyncSources,
    block_announces: ProtocolName,
) -> String
where
    C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + BlockchainEvents<Block>,
    C::Api: ConsortiumApi<Block, AccountId>,
{
    let mut imports = client.every_import_notification_stream().fuse();
    let mut finality = client.finality_notification_stream().fuse();
    let mut sync_events = sync.event_stream("peer-guard").fuse();
    let mut read_at = None;
    // The sync peers that are connected: whether an authorised one is, ends the sync sources.
    let mut connected: HashSet<PeerId> = HashSet::new();
    if let Err(e) = reserve(network, &block_announces, allowlist, &sources) {
        return e;
    }
    loop {
        futures::select! {
            import = imports.next() => if import.is_none() {
                return "the client's block import notifications ended".into();
            },
            finalized = finality.next() => if finalized.is_none() {
                return "the client's finality notifications ended".into();
            },
            event = sync_events.next() => {
                match event {
                    Some(SyncEvent::PeerConnected { peer_id, .. }) => {
                        if allowlist.contains(&peer_id) || sources.contains(&peer_id) {
                            connected.insert(peer_id);
                        } else {
                            ban(network, peer_id)
                        }
                    },
                    Some(SyncEvent::PeerDisconnected(peer_id)) => {
                        connected.remove(&peer_id);
                    },
                    None => return "the sync event stream ended".into(),
                }
            },
        }
        if sources.is_trusted()
            && !sync.is_major_syncing()
            && connected.iter().any(|peer| allowlist.contains(peer))
        {
            log::info!(
                target: LOG_TARGET,
                "caught up with an authorised peer: the bootnodes are no longer sync sources"
            );
            sources.end();
            if let Err(e) = reserve(network, &block_announces, allowlist, &sources) {
                return e;
            }
            drop_unauthorised(network, sync, allowlist, &sources).await;
        }
        let finalized = client.info().finalized_hash;
        if read_at == Some(finalized) {
            continue;
        }
        read_at = Some(finalized);
        #[cfg(debug_assertions)]
        if let Some(failure) = injected_failure() {
            return failure;
        }
        let peers = match authorized_peers(client, finalized) {
            Ok(peers) => peers,
            Err(e) => return format!("{e} (at finalized block {finalized})"),
        };
        if allowlist.replace(peers) {
            log::info!(
                target: LOG_TARGET,
                "{} authorised peers as of finalized block {finalized}",
                allowlist.len()
            );
            if let Err(e) = reserve(network, &block_announces, allowlist, &sources) {
                return e;
            }
            drop_unauthorised(network, sync, allowlist, &sources).await;
        }
    }
}

/// Bans the connected sync peers that are neither authorised nor trusted sync sources (a
/// removed hospital's nodes, and the sync sources once they are no longer needed).
async fn drop_unauthorised(
    network: &dyn NetworkService,
    sync: &SyncingService<Block>,
    allowlist: &PeerAllowlist,
    sources: &SyncSources,
) {
    if let Ok(peers) = sync.peers_info().await {
        for (peer, _) in peers {
            if !allowlist.contains(&peer) && !sources.contains(&peer) {
                ban(network, peer);
            }
        }
    }
}

/// The bootnodes a node syncs from while it catches up, whether or not its finalized state
/// authorises them yet (see the module docs).
struct SyncSources {
    /// Empty once the node caught up with an authorised peer.
    peers: HashSet<PeerId>,
}

impl SyncSources {
    /// The `bootnodes` that `allowlist` does not already admit.
    fn new(bootnodes: HashSet<PeerId>, allowlist: &PeerAllowlist) -> Self {
        let peers: HashSet<PeerId> = bootnodes
            .into_iter()
            .filter(|peer| !allowlist.contains(peer))
            .collect();
        if !peers.is_empty() {
            log::info!(
                target: LOG_TARGET,
                "{} bootnode(s) not authorised at this node's finalized block are its sync \
                 sources until it catches up with an authorised peer",
                peers.len()
            );
        }
        Self { peers }
    }

    fn is_trusted(&self) -> bool {
        !self.peers.is_empty()
    }

    /// Whether `peer` may be a sync peer now as a sync source.
    fn contains(&self, peer: &PeerId) -> bool {
        self.peers.contains(peer)
    }

    fn end(&mut self) {
        self.peers.clear();
    }

    /// The peers to reserve besides the authorised ones.
    fn reserved(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.peers.iter().copied()
    }
}

/// Makes the authorised peers (and the sync sources while they are trusted) the block-announce
/// set's reserved peers (the set is reserved-only, so this admits them, refuses everyone else and
/// disconnects peers no longer in it). Peer ids suffice: addresses come from the bootnodes and
/// discovery.
fn reserve(
    network: &dyn NetworkService,
    block_announces: &ProtocolName,
    allowlist: &PeerAllowlist,
    sources: &SyncSources,
) -> Result<(), String> {
    let local = network.local_peer_id();
    let reserved = allowlist
        .peers()
        .into_iter()
        .chain(sources.reserved())
        .filter(|peer| *peer != local)
        .map(|peer| Multiaddr::empty().with(Protocol::P2p(peer.into())))
        .collect();
    network
        .set_reserved_peers(block_announces.clone(), reserved)
        .map_err(|e| format!("cannot reserve the authorised peers on {block_announces}: {e}"))
}

/// Debug builds only: `MEDLEDGER_TEST_PEER_GUARD_FAILURE=1` makes the guard fail the first time
/// it would re-read the authorised set, so the tests can check that a failing guard stops the
/// node (`node/tests/peer_guard.rs`). Release builds have no such switch.
#[cfg(debug_assertions)]
fn injected_failure() -> Option<String> {
    (std::env::var("MEDLEDGER_TEST_PEER_GUARD_FAILURE").as_deref() == Ok("1"))
        .then(|| "failure injected by MEDLEDGER_TEST_PEER_GUARD_FAILURE".to_string())
}

/// Network backends whose request-response configuration lets the guard put itself between the
/// network and a protocol's server.
pub trait GuardedBackend: sc_network::NetworkBackend<Block, <Block as BlockT>::Hash> {
    /// Installs `queue` as the protocol's inbound queue; returns the server's queue it replaced.
    fn swap_inbound_queue(
        config: &mut Self::RequestResponseProtocolConfig,
        queue: async_channel::Sender<IncomingRequest>,
    ) -> Option<async_channel::Sender<IncomingRequest>>;
}

impl GuardedBackend for sc_network::NetworkWorker<Block, <Block as BlockT>::Hash> {
    fn swap_inbound_queue(
        config: &mut Self::RequestResponseProtocolConfig,
        queue: async_channel::Sender<IncomingRequest>,
    ) -> Option<async_channel::Sender<IncomingRequest>> {
        config.inbound_queue.replace(queue)
    }
}

impl GuardedBackend for sc_network::Litep2pNetworkBackend {
    fn swap_inbound_queue(
        config: &mut Self::RequestResponseProtocolConfig,
        queue: async_channel::Sender<IncomingRequest>,
    ) -> Option<async_channel::Sender<IncomingRequest>> {
        config.inbound_queue.replace(queue)
    }
}

impl PeerAllowlist {
    /// A list holding the authorised peers at block `at`.
    pub fn at<C>(client: &C, at: <Block as BlockT>::Hash) -> Result<Self, String>
    where
        C: ProvideRuntimeApi<Block>,
        C::Api: ConsortiumApi<Block, AccountId>,
    {
        let list = Self::default();
        list.replace(authorized_peers(client, at)?);
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: PeerId) -> (IncomingRequest, oneshot::Receiver<OutgoingResponse>) {
        let (pending_response, response) = oneshot::channel();
        (
            IncomingRequest {
                peer: peer.into(),
                payload: vec![1, 2, 3],
                pending_response,
            },
            response,
        )
    }

    #[test]
    fn requests_from_unauthorised_peers_are_refused_with_a_ban_and_never_reach_the_server() {
        let member = PeerId::random();
        let stranger = PeerId::random();
        let allowlist = PeerAllowlist::default();
        allowlist.replace(HashSet::from([member]));

        let (network_tx, network_rx) = async_channel::bounded(4);
        let (server_tx, server_rx) = async_channel::bounded(4);
        let (from_stranger, stranger_response) = request(stranger);
        let (from_member, _member_response) = request(member);
        network_tx.try_send(from_stranger).unwrap();
        network_tx.try_send(from_member).unwrap();
        drop(network_tx);
        futures::executor::block_on(guard_inbound_requests(
            "block", network_rx, server_tx, allowlist,
        ));

        let refused =
            futures::executor::block_on(stranger_response).expect("the stranger is answered");
        assert_eq!(refused.result, Err(()));
        assert_eq!(refused.reputation_changes, vec![NOT_AUTHORISED]);
        let forwarded = server_rx
            .try_recv()
            .expect("the member's request reaches the server");
        assert_eq!(PeerId::from(forwarded.peer), member);
        assert!(
            server_rx.try_recv().is_err(),
            "only the member's request was forwarded"
        );
    }

    #[test]
    fn allowlist_replacement_reports_whether_it_changed() {
        let list = PeerAllowlist::default();
        let peers = HashSet::from([PeerId::random()]);
        assert!(list.replace(peers.clone()));
        assert!(
            !list.replace(peers.clone()),
            "same set: no change, no re-check of peers"
        );
        assert!(list.contains(peers.iter().next().unwrap()));
        assert!(!list.contains(&PeerId::random()));
    }

    #[test]
    fn bootnodes_are_sync_sources_only_where_not_authorised_and_only_until_the_end() {
        let member = PeerId::random();
        let later_member = PeerId::random();
        let allowlist = PeerAllowlist::default();
        allowlist.replace(HashSet::from([member]));

        let mut sources = SyncSources::new(HashSet::from([member, later_member]), &allowlist);
        assert!(sources.is_trusted());
        assert!(sources.contains(&later_member));
        assert!(
            !sources.contains(&member),
            "an authorised bootnode needs no exception"
        );
        assert_eq!(sources.reserved().collect::<Vec<_>>(), [later_member]);

        sources.end();
        assert!(!sources.contains(&later_member));
        assert_eq!(sources.reserved().count(), 0);
    }

    #[test]
    fn authorised_bootnodes_leave_no_sync_sources() {
        let member = PeerId::random();
        let allowlist = PeerAllowlist::default();
        allowlist.replace(HashSet::from([member]));
        assert!(!SyncSources::new(HashSet::from([member]), &allowlist).is_trusted());
        assert!(!SyncSources::new(HashSet::new(), &allowlist).is_trusted());
    }
}
