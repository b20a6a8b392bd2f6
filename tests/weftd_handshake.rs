//! Two (or three) real `weftd` processes complete the handshake and ping each
//! other over every transport.

mod common;

use common::Weftd;

/// A listens on `bind`, B dials A's bound address; both log the handshake on
/// `transport` and a measured ping.
fn handshake_over(bind: &str, scheme: &str, extra: &[&str], transport: &str) {
    let mut a_args = vec![bind];
    a_args.extend_from_slice(extra);
    let a = Weftd::start("A", &a_args);
    let addr = a.bound(scheme);
    let connect = format!("-connect={addr}");
    let mut b_args = vec![connect.as_str()];
    b_args.extend_from_slice(extra);
    let b = Weftd::start("B", &b_args);
    let want = format!("transport: {transport},");
    a.wait_for(&["New inbound peer connected", &want, "/weft:"]);
    b.wait_for(&["New manual peer connected", &want]);
    a.wait_for(&["pong peer=", "rtt="]);
    b.wait_for(&["pong peer=", "rtt="]);
    b.stop();
    a.wait_for(&["disconnected"]);
    a.stop();
}

#[test]
fn tcp_v1() {
    handshake_over("-bind=tcp://127.0.0.1:0", "tcp", &["-v2transport=0"], "v1");
}

#[test]
fn tcp_v2() {
    handshake_over("-bind=tcp://127.0.0.1:0", "tcp", &[], "v2");
}

#[test]
fn quic() {
    handshake_over("-bind=quic://127.0.0.1:0", "quic", &[], "quic");
}

#[test]
fn iroh() {
    handshake_over("-bind=iroh://127.0.0.1:0", "iroh", &[], "iroh");
}

#[test]
fn v2_initiator_falls_back_to_v1_responder() {
    let a = Weftd::start("A", &["-bind=tcp://127.0.0.1:0", "-v2transport=0"]);
    let connect = format!("-connect={}", a.bound("tcp"));
    let b = Weftd::start("B", &[connect.as_str(), "-v2transport=1"]);
    b.wait_for(&["New manual peer connected", "transport: v1,"]);
    a.wait_for(&["New inbound peer connected", "transport: v1,"]);
    b.stop();
    a.stop();
}

#[test]
fn one_node_holds_tcp_and_quic_peers_at_once() {
    let a = Weftd::start("A", &["-bind=tcp://127.0.0.1:0", "-bind=quic://127.0.0.1:0"]);
    let via_tcp = format!("-connect={}", a.bound("tcp"));
    let via_quic = format!("-connect={}", a.bound("quic"));
    let b = Weftd::start("B", &[via_tcp.as_str()]);
    let c = Weftd::start("C", &[via_quic.as_str()]);
    a.wait_for(&["New inbound peer connected", "transport: v2,"]);
    a.wait_for(&["New inbound peer connected", "transport: quic,"]);
    b.wait_for(&["pong peer="]);
    c.wait_for(&["pong peer="]);
    b.stop();
    c.stop();
    a.stop();
}
