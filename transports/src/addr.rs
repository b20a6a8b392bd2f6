//! Peer addresses with a transport scheme: `tcp://host:port`, `quic://[key@]host:port`,
//! `iroh://<endpoint-id>@host:port`.

use std::fmt;
use std::str::FromStr;

use crate::error::TransportError;

/// Which transport an address is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// TCP: v1 framing or BIP324 v2, as configured.
    Tcp,
    /// QUIC over UDP (quinn).
    Quic,
    /// Iroh (QUIC with endpoint ids).
    Iroh,
    /// In-process pairs, for tests.
    Mem,
}

impl Scheme {
    /// The scheme's name as written in addresses.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Tcp => "tcp",
            Scheme::Quic => "quic",
            Scheme::Iroh => "iroh",
            Scheme::Mem => "mem",
        }
    }
}

impl FromStr for Scheme {
    type Err = TransportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tcp" => Ok(Scheme::Tcp),
            "quic" => Ok(Scheme::Quic),
            "iroh" => Ok(Scheme::Iroh),
            "mem" => Ok(Scheme::Mem),
            other => Err(TransportError::BadAddress(format!("unknown scheme {other:?}"))),
        }
    }
}

/// A dialable or bindable address: scheme, optional key, host and port.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerAddr {
    /// The transport.
    pub scheme: Scheme,
    /// For quic: an optional pinned key hash (64 hex chars); for iroh: the endpoint id.
    pub key: Option<String>,
    /// Host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
}

impl PeerAddr {
    /// Parses `scheme://[key@]host:port`; without a scheme, `default` applies and
    /// `default_port` fills a missing port.
    pub fn parse_with(s: &str, default: Scheme, default_port: Option<u16>) -> Result<Self, TransportError> {
        let bad = |why: &str| TransportError::BadAddress(format!("{s:?}: {why}"));
        let (scheme, rest) = match s.split_once("://") {
            Some((sch, rest)) => (sch.parse::<Scheme>()?, rest),
            None => (default, s),
        };
        let (key, hostport) = match rest.rsplit_once('@') {
            Some((k, hp)) if !k.is_empty() => (Some(k.to_string()), hp),
            Some(_) => return Err(bad("empty key")),
            None => (None, rest),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, tail) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
            let port = match tail.strip_prefix(':') {
                Some(p) => Some(p.parse::<u16>().map_err(|_| bad("bad port"))?),
                None if tail.is_empty() => None,
                None => return Err(bad("junk after ']'")),
            };
            (h.to_string(), port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => {
                    (h.to_string(), Some(p.parse::<u16>().map_err(|_| bad("bad port"))?))
                }
                Some(_) => (hostport.to_string(), None), // bare IPv6
                None => (hostport.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        let port = port.or(default_port).ok_or_else(|| bad("missing port"))?;
        Ok(PeerAddr {
            scheme,
            key,
            host,
            port,
        })
    }

    /// `host:port` with IPv6 brackets, for socket APIs.
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Resolves the host to socket addresses.
    pub async fn resolve(&self) -> Result<Vec<std::net::SocketAddr>, TransportError> {
        let addrs: Vec<_> = tokio::net::lookup_host(self.host_port()).await?.collect();
        if addrs.is_empty() {
            return Err(TransportError::BadAddress(format!("{} resolves to nothing", self.host)));
        }
        Ok(addrs)
    }
}

impl FromStr for PeerAddr {
    type Err = TransportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PeerAddr::parse_with(s, Scheme::Tcp, None)
    }
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        if let Some(k) = &self.key {
            write!(f, "{k}@")?;
        }
        f.write_str(&self.host_port())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_schemes_keys_and_ipv6() {
        let a: PeerAddr = "quic://abcd@127.0.0.1:18444".parse().unwrap();
        assert_eq!(
            (a.scheme, a.key.as_deref(), a.host.as_str(), a.port),
            (Scheme::Quic, Some("abcd"), "127.0.0.1", 18444)
        );
        let b = PeerAddr::parse_with("[::1]", Scheme::Tcp, Some(18444)).unwrap();
        assert_eq!(b.host_port(), "[::1]:18444");
        assert_eq!(b.to_string(), "tcp://[::1]:18444");
        assert!("iroh://@127.0.0.1:1".parse::<PeerAddr>().is_err());
        assert!("udp://x:1".parse::<PeerAddr>().is_err());
        assert!("tcp://x".parse::<PeerAddr>().is_err());
        assert_eq!("10.0.0.1:8333".parse::<PeerAddr>().unwrap().scheme, Scheme::Tcp);
    }
}
