//! A QUIC peer link is two connections between the same endpoints: the main lane
//! (control and tx streams, datagrams) and the bulk lane (the block stream).
//!
//! Why two: a QUIC connection decrypts and processes its packets in arrival order, one
//! task per connection. While a block streams, a megabyte of its packets is queued
//! ahead of any ping on the same connection, whatever the stream priorities; on a
//! second connection the ping skips that queue. On loopback this took a raw quinn
//! ping under load from about 5× its idle round trip to about 1.6×.
//!
//! The dialer opens both lanes at once. Each names its role and a random pairing token
//! in the TLS server name (`main-<token>.weft`, `bulk-<token>.weft`); the listener
//! joins the two lanes with the same token and the same client key, and never hands
//! out half a link. The token only pairs: a lane whose key differs from its partner's
//! is refused, so seeing a token on the wire does not let anyone join a link.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;

use super::{peer_id, streams, tls, HANDSHAKE_TIMEOUT};
use crate::TransportError;

/// Random bytes that tie a link's two lanes together.
pub(crate) type Token = [u8; 16];

/// Inbound TLS handshakes under way at most: a flood of silent connections costs this
/// many tasks, and each newcomer pushes out the oldest.
const MAX_HANDSHAKES: usize = 64;

/// Lanes waiting for their partner at most; the oldest gives way.
const MAX_WAITING: usize = 64;

/// How long a lane waits for its partner. The dialer opens both at once, so this only
/// bounds what a peer that never opens the second costs.
pub(crate) const PARTNER_WAIT: Duration = HANDSHAKE_TIMEOUT;

/// Which of a link's two connections this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Control and tx streams, datagrams.
    Main,
    /// The block stream.
    Bulk,
}

impl Role {
    fn label(self) -> &'static str {
        match self {
            Role::Main => "main",
            Role::Bulk => "bulk",
        }
    }
}

/// The TLS server name a dialer sends for one lane.
pub(crate) fn server_name(role: Role, token: &Token) -> String {
    format!("{}-{}.{}", role.label(), hex::encode(token), tls::CERT_NAME)
}

/// The role and token in a lane's server name, if it is one.
pub(crate) fn parse_server_name(name: &str) -> Option<(Role, Token)> {
    let rest = name.strip_suffix(tls::CERT_NAME)?.strip_suffix('.')?;
    let (label, token_hex) = rest.split_once('-')?;
    let role = [Role::Main, Role::Bulk].into_iter().find(|r| r.label() == label)?;
    let mut token = [0u8; 16];
    hex::decode_to_slice(token_hex, &mut token).ok()?;
    Some((role, token))
}

/// One inbound lane after its TLS handshake.
pub(crate) struct Arrival {
    role: Role,
    token: Token,
    id: [u8; 32],
    conn: quinn::Connection,
}

/// Runs one inbound handshake and reads which lane of which link it is.
async fn handshake(incoming: quinn::Incoming) -> Result<Arrival, TransportError> {
    let done = async {
        let connecting = incoming
            .accept()
            .map_err(|e| TransportError::Handshake(e.to_string()))?;
        connecting.await.map_err(|e| TransportError::Handshake(e.to_string()))
    };
    let conn = tokio::time::timeout(HANDSHAKE_TIMEOUT, done)
        .await
        .map_err(|_| TransportError::TimedOut)??;
    let id = peer_id(&conn)?;
    let name = conn
        .handshake_data()
        .and_then(|d| d.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
        .and_then(|d| d.server_name);
    let Some((role, token)) = name.as_deref().and_then(parse_server_name) else {
        conn.close(streams::CLOSE_PROTOCOL.into(), b"no lane in server name");
        return Err(TransportError::Handshake(format!("no lane in server name {name:?}")));
    };
    Ok(Arrival { role, token, id, conn })
}

/// The next connection attempt on `endpoint`; never resolves without one.
async fn accept_on(endpoint: Option<&quinn::Endpoint>) -> Option<quinn::Incoming> {
    match endpoint {
        Some(e) => e.accept().await,
        None => std::future::pending().await,
    }
}

/// A paired inbound link: (main, bulk, the peer's key).
pub(crate) type Link = (quinn::Connection, quinn::Connection, [u8; 32]);

/// What the listener holds between `accept` calls: handshakes under way and lanes
/// waiting for their partner, both bounded.
#[derive(Default)]
pub(crate) struct Lobby {
    handshakes: JoinSet<Result<Arrival, TransportError>>,
    started: VecDeque<AbortHandle>,
    waiting: VecDeque<(Instant, Arrival)>,
}

impl Lobby {
    /// Starts the handshake of a new inbound connection.
    fn admit(&mut self, incoming: quinn::Incoming) {
        self.started.retain(|h| !h.is_finished());
        if self.started.len() >= MAX_HANDSHAKES {
            if let Some(oldest) = self.started.pop_front() {
                tracing::debug!(target: "net", "dropping the oldest quic handshake: {MAX_HANDSHAKES} under way");
                oldest.abort();
            }
        }
        self.started.push_back(self.handshakes.spawn(handshake(incoming)));
    }

    /// Files a lane; returns the link when its partner was already waiting.
    fn arrive(&mut self, now: Instant, lane: Arrival) -> Option<Link> {
        let partner = self
            .waiting
            .iter()
            .position(|(_, w)| w.token == lane.token && w.role != lane.role && w.id == lane.id);
        if let Some(i) = partner {
            let (_, other) = self.waiting.remove(i)?;
            let (main, bulk) = match lane.role {
                Role::Main => (lane, other),
                Role::Bulk => (other, lane),
            };
            return Some((main.conn, bulk.conn, main.id));
        }
        if self
            .waiting
            .iter()
            .any(|(_, w)| w.token == lane.token && w.role != lane.role)
        {
            // Its partner presented another key: someone replayed a seen token.
            tracing::debug!(target: "net", "quic {:?} lane refused: its partner has another key", lane.role);
            lane.conn.close(streams::CLOSE_PROTOCOL.into(), b"lane key mismatch");
            return None;
        }
        if self.waiting.len() >= MAX_WAITING {
            if let Some((_, oldest)) = self.waiting.pop_front() {
                oldest.conn.close(streams::CLOSE_PROTOCOL.into(), b"no partner lane");
            }
        }
        self.waiting.push_back((now, lane));
        None
    }

    /// Closes lanes that waited too long for their partner.
    fn expire(&mut self, now: Instant) {
        while let Some((since, lane)) = self.waiting.front() {
            if now.duration_since(*since) < PARTNER_WAIT {
                return;
            }
            tracing::debug!(target: "net", "quic {:?} lane closed: its partner never came", lane.role);
            lane.conn.close(streams::CLOSE_PROTOCOL.into(), b"no partner lane");
            self.waiting.pop_front();
        }
    }

    /// Waits until a link is complete. Cancel-safe: state lives in `self`.
    pub(crate) async fn next_link(
        &mut self,
        main: &quinn::Endpoint,
        bulk: Option<&quinn::Endpoint>,
    ) -> Result<Link, TransportError> {
        loop {
            let expiry = self.waiting.front().map(|(since, _)| *since + PARTNER_WAIT);
            tokio::select! {
                incoming = main.accept() => match incoming {
                    Some(incoming) => self.admit(incoming),
                    None => return Err(TransportError::Closed("quic endpoint closed".into())),
                },
                // A lane is served wherever it lands; only its thread depends on that.
                Some(incoming) = accept_on(bulk) => self.admit(incoming),
                Some(done) = self.handshakes.join_next(), if !self.handshakes.is_empty() => match done {
                    Ok(Ok(lane)) => {
                        if let Some(link) = self.arrive(Instant::now(), lane) {
                            return Ok(link);
                        }
                    }
                    Ok(Err(e)) => tracing::debug!(target: "net", "inbound quic handshake failed: {e}"),
                    Err(_) => {} // aborted to make room
                },
                _ = tokio::time::sleep_until(expiry.unwrap_or_else(Instant::now)), if expiry.is_some() => {
                    self.expire(Instant::now());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_round_trip_and_junk_is_refused() {
        let token = [0xab; 16];
        for role in [Role::Main, Role::Bulk] {
            assert_eq!(parse_server_name(&server_name(role, &token)), Some((role, token)));
        }
        for junk in [
            "weft",
            "main-.weft",
            "side-abababababababababababababababab.weft",
            "main-abab.weft",
            "main-zzababababababababababababababab.weft",
            "main-abababababababababababababababab.other",
        ] {
            assert_eq!(parse_server_name(junk), None, "{junk}");
        }
    }
}
