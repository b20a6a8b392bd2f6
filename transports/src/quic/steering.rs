//! Two UDP sockets on one port, and the kernel sorting packets between them: the main
//! socket takes control lanes, the bulk socket takes block lanes, and each is read by
//! its own thread (see [`super::bulk_runtime`]).
//!
//! Every connection id we hand out, and every first destination id a dialer picks,
//! has its top bit set on a bulk lane and clear on a main lane. The two sockets share
//! the port through `SO_REUSEPORT`, and a classic BPF program attached to the group
//! (`SO_ATTACH_REUSEPORT_CBPF`) returns that bit of each packet's destination id,
//! which is the index of the socket that gets the packet (main bound first, bulk
//! second). A packet too short to read maps to the main socket.
//!
//! Linux only. Elsewhere, or where the kernel refuses the program, both lanes share
//! one socket and one thread, as they did before.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use quinn::{ConnectionId, ConnectionIdGenerator};

use super::lanes::Role;

/// Length of the connection ids our endpoints issue (quinn's default).
const CID_LEN: usize = 8;

/// Length of the first destination connection id a dialer sends.
const INITIAL_CID_LEN: usize = 16;

/// Random bytes whose top bit marks `role`.
fn marked<const N: usize>(role: Role) -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::Rng::fill(&mut rand::thread_rng(), &mut bytes[..]);
    match role {
        Role::Main => bytes[0] &= 0x7f,
        Role::Bulk => bytes[0] |= 0x80,
    }
    bytes
}

/// A random first destination connection id that marks the lane it opens.
pub(crate) fn marked_initial_cid(role: Role) -> ConnectionId {
    ConnectionId::new(&marked::<INITIAL_CID_LEN>(role))
}

/// Issues connection ids marked for one lane's socket.
#[derive(Debug)]
struct MarkedCids(Role);

impl ConnectionIdGenerator for MarkedCids {
    fn generate_cid(&mut self) -> ConnectionId {
        ConnectionId::new(&marked::<CID_LEN>(self.0))
    }

    fn cid_len(&self) -> usize {
        CID_LEN
    }

    fn cid_lifetime(&self) -> Option<Duration> {
        None
    }
}

/// The endpoint config of one lane's socket.
pub(crate) fn endpoint_config(role: Role) -> quinn::EndpointConfig {
    let mut config = quinn::EndpointConfig::default();
    config.cid_generator(move || Box::new(MarkedCids(role)));
    config
}

/// Socket buffer asked for on bulk sockets, each way: a whole 4 MB block can sit in
/// the kernel while the bulk thread is busy decrypting, instead of overflowing the
/// default 208 KiB and costing a loss recovery. The kernel caps it at
/// `net.core.rmem_max`/`wmem_max`.
const BULK_SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// Binds the main and the bulk socket on `addr` (port 0 picks one for both) and has
/// the kernel steer packets between them. `Ok(None)` where steering is not available.
pub(crate) fn bind_pair(addr: SocketAddr) -> io::Result<Option<(UdpSocket, UdpSocket)>> {
    imp::bind_pair(addr)
}

/// Binds the socket that dialed bulk lanes leave from, with bulk-sized buffers.
pub(crate) fn bind_bulk_outbound(addr: SocketAddr) -> io::Result<UdpSocket> {
    imp::bind_bulk_outbound(addr)
}

#[cfg(target_os = "linux")]
mod imp {
    use std::io;
    use std::net::{SocketAddr, UdpSocket};
    use std::os::fd::AsRawFd;

    use socket2::{Domain, Protocol, Socket, Type};

    use libc::SO_ATTACH_REUSEPORT_CBPF;

    // Classic BPF opcodes (linux/filter.h).
    const LDB_ABS: u16 = 0x30; // A = packet byte at k
    const JSET_K: u16 = 0x45; // if A & k
    const JEQ_K: u16 = 0x15; // if A == k
    const JA: u16 = 0x05; // jump k forward
    const RSH_K: u16 = 0x74; // A >>= k
    const RET_A: u16 = 0x16;
    const RET_K: u16 = 0x06;

    fn op(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
        libc::sock_filter { code, jt, jf, k }
    }

    /// The top bit of the QUIC destination connection id, read from the UDP payload:
    /// byte 1 in a short header; after the 4-byte version and the length byte in a
    /// long header. Returns the socket index (0 main, 1 bulk).
    fn program() -> [libc::sock_filter; 10] {
        [
            op(LDB_ABS, 0, 0, 0),   // 0: first byte
            op(JSET_K, 0, 4, 0x80), // 1: long header? 2 : 6
            op(LDB_ABS, 0, 0, 5),   // 2: id length
            op(JEQ_K, 5, 0, 0),     // 3: empty id? 9 : 4
            op(LDB_ABS, 0, 0, 6),   // 4: id's first byte (long header)
            op(JA, 0, 0, 1),        // 5: -> 7
            op(LDB_ABS, 0, 0, 1),   // 6: id's first byte (short header)
            op(RSH_K, 0, 0, 7),     // 7: its top bit
            op(RET_A, 0, 0, 0),     // 8
            op(RET_K, 0, 0, 0),     // 9: main
        ]
    }

    /// A UDP socket bound to `addr`, in the port's reuse group if `reuse_port`.
    fn udp_socket(addr: SocketAddr, reuse_port: bool) -> io::Result<Socket> {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        if reuse_port {
            socket.set_reuse_port(true)?;
        }
        socket.bind(&addr.into())?;
        Ok(socket)
    }

    fn attach(socket: &Socket) -> io::Result<()> {
        let mut filter = program();
        let prog = libc::sock_fprog {
            len: filter.len() as libc::c_ushort,
            filter: filter.as_mut_ptr(),
        };
        // SAFETY: `prog` points at `filter`, which outlives the call; the kernel copies
        // the program and checks it before use.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                SO_ATTACH_REUSEPORT_CBPF,
                std::ptr::addr_of!(prog).cast(),
                std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    pub(super) fn bind_pair(addr: SocketAddr) -> io::Result<Option<(UdpSocket, UdpSocket)>> {
        // A plain bind first. It fails if anyone holds the port, as a second node on
        // the same port must (a reuse-port bind would join that node's group and take
        // half its packets), and it picks the port when asked for port 0.
        let local = UdpSocket::bind(addr)?.local_addr()?;
        // The group's socket index follows bind order: main is 0, bulk is 1.
        let main = udp_socket(local, true)?;
        let bulk = match udp_socket(local, true) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(target: "net", "quic: no second socket on {local} ({e}); blocks share the control thread");
                return Ok(None);
            }
        };
        if let Err(e) = attach(&main) {
            tracing::warn!(target: "net", "quic: kernel refused packet steering ({e}); blocks share the control thread");
            return Ok(None);
        }
        Ok(Some((main.into(), with_bulk_buffers(bulk).into())))
    }

    /// Asks for [`super::BULK_SOCKET_BUFFER`] each way; a smaller grant only costs speed.
    fn with_bulk_buffers(socket: Socket) -> Socket {
        let _ = socket.set_recv_buffer_size(super::BULK_SOCKET_BUFFER);
        let _ = socket.set_send_buffer_size(super::BULK_SOCKET_BUFFER);
        socket
    }

    pub(super) fn bind_bulk_outbound(addr: SocketAddr) -> io::Result<UdpSocket> {
        Ok(with_bulk_buffers(udp_socket(addr, false)?).into())
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub(super) fn bind_bulk_outbound(addr: std::net::SocketAddr) -> std::io::Result<std::net::UdpSocket> {
        std::net::UdpSocket::bind(addr)
    }

    pub(super) fn bind_pair(
        _addr: std::net::SocketAddr,
    ) -> std::io::Result<Option<(std::net::UdpSocket, std::net::UdpSocket)>> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lane a destination connection id marks.
    fn marked_role(cid: &[u8]) -> Role {
        match cid.first() {
            Some(b) if b & 0x80 != 0 => Role::Bulk,
            _ => Role::Main,
        }
    }

    #[test]
    fn initial_and_issued_cids_mark_their_lane() {
        for role in [Role::Main, Role::Bulk] {
            for _ in 0..64 {
                let cid = marked_initial_cid(role);
                assert_eq!(cid.len(), INITIAL_CID_LEN);
                assert_eq!(marked_role(&cid), role);
                let issued = MarkedCids(role).generate_cid();
                assert_eq!(issued.len(), CID_LEN);
                assert_eq!(marked_role(&issued), role);
            }
        }
        assert_eq!(marked_role(&[]), Role::Main);
    }

    /// Real sockets: the kernel hands each crafted QUIC header to the socket its
    /// destination id marks, and anything unreadable to the main one.
    #[cfg(target_os = "linux")]
    #[test]
    fn kernel_steers_packets_by_destination_id() {
        let Some((main, bulk)) = bind_pair("127.0.0.1:0".parse().unwrap()).unwrap() else {
            panic!("steering unavailable on this Linux kernel");
        };
        let port = main.local_addr().unwrap();
        assert_eq!(bulk.local_addr().unwrap(), port);
        // The port is ours: a second pair, or a plain socket, cannot bind it.
        assert!(bind_pair(port).is_err());
        assert!(UdpSocket::bind(port).is_err());
        for s in [&main, &bulk] {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s.set_nonblocking(false).unwrap();
        }
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let cases: [(&[u8], Role); 7] = [
            (&[0x40, 0x81, 1, 2, 3, 4, 5, 6, 7], Role::Bulk), // short header, bulk id
            (&[0x40, 0x01, 1, 2, 3, 4, 5, 6, 7], Role::Main), // short header, main id
            (&[0xc0, 0, 0, 0, 1, 16, 0x9f, 1, 2, 3], Role::Bulk), // Initial, bulk id
            (&[0xc0, 0, 0, 0, 1, 16, 0x1f, 1, 2, 3], Role::Main), // Initial, main id
            (&[0xc0, 0, 0, 0, 1, 0, 0xff, 0xff], Role::Main), // long header, empty id
            (&[0x40], Role::Main),                            // truncated
            (&[0xc0, 0, 0, 0, 1], Role::Main),                // truncated long header
        ];
        for (i, (packet, want)) in cases.iter().enumerate() {
            let mut tagged = packet.to_vec();
            tagged.push(i as u8);
            sender.send_to(&tagged, port).unwrap();
            let socket = if *want == Role::Main { &main } else { &bulk };
            let mut buf = [0u8; 64];
            let (n, _) = socket
                .recv_from(&mut buf)
                .unwrap_or_else(|e| panic!("case {i} did not reach the {want:?} socket: {e}"));
            assert_eq!(&buf[..n], &tagged[..], "case {i} reached the wrong socket");
        }
    }

    /// End to end: a weft dialer's bulk lane leaves from the bulk socket and lands on
    /// the listener's bulk socket; its main lane stays on the main sockets.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn each_lane_lands_on_its_own_socket() {
        use crate::{Listener, Transport};
        let bind =
            || super::super::QuicEndpoint::bind(super::super::QuicConfig::new("127.0.0.1:0".parse().unwrap(), None));
        let (dialer, mut listener) = (bind().unwrap(), bind().unwrap());
        let addr = listener.local_addr();
        let (out, inb) = tokio::time::timeout(Duration::from_secs(20), async {
            tokio::join!(dialer.dial(&addr), async { listener.accept().await.unwrap().await })
        })
        .await
        .expect("link within 20 s");
        let (_out, _inb) = (out.unwrap(), inb.unwrap());
        let count = |e: &quinn::Endpoint| e.open_connections();
        for (side, ep) in [("dialer", &dialer), ("listener", &listener)] {
            let bulk = ep.bulk.as_ref().expect("steering on Linux");
            assert_eq!(count(&ep.endpoint), 1, "{side}: main socket");
            let (want_in, want_out) = if side == "dialer" { (0, 1) } else { (1, 0) };
            assert_eq!(count(&bulk.inbound), want_in, "{side}: bulk socket");
            assert_eq!(count(&bulk.outbound), want_out, "{side}: bulk dial socket");
        }
    }
}
