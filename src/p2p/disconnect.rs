//! Why the core drops a peer. Every disconnect carries one, and it is logged.

use std::time::Duration;

/// The reason for a disconnect, worded like Core's log lines where Core has one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DisconnectReason {
    /// No `version`/`verack` within the handshake timeout.
    #[error("version handshake timeout")]
    HandshakeTimeout,
    /// An outstanding ping was not answered in time.
    #[error("ping timeout: {0:?}")]
    PingTimeout(Duration),
    /// The inbound `version` carried the nonce of one of our own outbound connections.
    #[error("connected to self, disconnecting")]
    SelfConnection,
    /// The peer's protocol version is older than we serve.
    #[error("using obsolete version {0}")]
    ObsoleteVersion(i32),
    /// An outbound peer lacks services we need from it.
    #[error("does not offer the expected services ({got:08x} offered, {want:08x} expected)")]
    MissingServices {
        /// What the peer offers.
        got: u64,
        /// What we require.
        want: u64,
    },
    /// A message other than `version` came first.
    #[error("non-version message before version handshake: {0}")]
    MessageBeforeVersion(String),
    /// A second `version`.
    #[error("redundant version message")]
    DuplicateVersion,
    /// A feature-negotiation message after `verack`.
    #[error("{0} received after verack")]
    NegotiationAfterVerack(String),
    /// A payload failed to decode.
    #[error("malformed {command}: {error}")]
    Malformed {
        /// The message type.
        command: String,
        /// The decoding error.
        error: String,
    },
    /// The operator asked for it (`disconnectnode`).
    #[error("disconnectnode requested by the operator")]
    Operator,
    /// The transport reported a violation or failure.
    #[error("transport: {0}")]
    Transport(String),
    /// Broke a protocol or consensus rule (Core's `Misbehaving`); the text says which.
    #[error("misbehaving: {0}")]
    Misbehaving(String),
    /// Sent a transaction or a transaction `inv` after we asked for none (`version`
    /// relay flag false); the text says which.
    #[error("{0} sent in violation of protocol")]
    TxRelayViolation(String),
    /// Sent a transaction that mempool acceptance found invalid through its fault.
    #[error("invalid transaction {txid}: {reason}")]
    InvalidTransaction {
        /// Its txid.
        txid: String,
        /// Core's reject reason.
        reason: String,
    },
    /// Held up the block download window past the stalling timeout.
    #[error("peer is stalling block download, disconnecting")]
    Stalling,
    /// A requested block did not arrive within the download timeout.
    #[error("timeout downloading block {0}, disconnecting")]
    BlockDownloadTimeout(String),
    /// The operator asked for it (RPC).
    #[error("disconnect requested")]
    Requested,
    /// The node is shutting down.
    #[error("shutting down")]
    Shutdown,
    /// A feeler connection did its job.
    #[error("feeler connection completed")]
    FeelerDone,
    /// A `-seednode` visit got its addresses or ran out of time.
    #[error("addrfetch connection completed")]
    AddrFetchDone,
    /// An inbound peer made room for a new one.
    #[error("evicted to make room for a new inbound connection")]
    Evicted,
    /// An inbound connection was turned away; the text says why.
    #[error("connection dropped ({0})")]
    Refused(String),
    /// The peer's address was banned by the operator.
    #[error("banned by the operator")]
    Banned,
    /// The extra outbound peer tried for a stale tip is no longer needed.
    #[error("extra outbound peer no longer needed")]
    ExtraOutbound,
    /// `-maxuploadtarget` is near and the peer asked for a historical block.
    #[error("historical block serving limit reached")]
    UploadTargetReached,
    /// More costly requests wait for their turn than an honest peer ever sends.
    #[error("request flood: {0} getheaders/getdata waiting, disconnecting")]
    RequestFlood(usize),
}
