//! Helpers shared by the `tcp_*` tests: loopback pairs and bounded waits.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use weft_transports::tcp::{TcpListenerHandle, TcpTransport};
use weft_transports::{Command, Connection, Listener, Magic, Message, Received, TrafficClass, Transport};

/// Regtest magic.
pub const MAGIC: Magic = [0xfa, 0xbf, 0xb5, 0xda];

/// Every wait in these tests is bounded by this.
pub const LIMIT: Duration = Duration::from_secs(30);

/// Awaits `f`, failing the test instead of hanging.
pub async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f).await.expect("test step timed out")
}

/// A listener on an ephemeral loopback port.
pub fn listener(v2: bool) -> TcpListenerHandle {
    TcpTransport::new(MAGIC, v2)
        .listen("127.0.0.1:0".parse().unwrap())
        .unwrap()
}

/// The listener's socket address.
pub fn addr_of(l: &TcpListenerHandle) -> SocketAddr {
    l.socket_addr()
}

/// Dials a fresh listener; returns (outbound, inbound).
pub async fn pair(dial_v2: bool, listen_v2: bool) -> (Connection, Connection) {
    let mut l = listener(listen_v2);
    let addr = l.local_addr();
    let dial = tokio::spawn(async move { TcpTransport::new(MAGIC, dial_v2).dial(&addr).await });
    let inbound = within(async { l.accept().await.unwrap().await.unwrap() }).await;
    let outbound = within(dial).await.unwrap().unwrap();
    (outbound, inbound)
}

/// A message with the given command and payload.
pub fn msg(cmd: &str, payload: impl Into<Bytes>) -> Message {
    Message::new(Command::new(cmd).unwrap(), payload.into(), TrafficClass::Control)
}

/// Unwraps a received message.
pub fn message(r: Received) -> Message {
    match r {
        Received::Message(m) => m,
        Received::Datagram(_) => panic!("unexpected datagram"),
    }
}
