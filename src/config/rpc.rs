//! The RPC server's settings: `-server`, `-rpcport`, `-rpcbind`, `-rpcallowip`,
//! `-rpcuser`/`-rpcpassword`, `-rpcauth`, `-rpccookiefile`, `-rest`, `-rpchttp3`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use super::file::FileSettings;
use super::ConfigError;

/// A `-rpcallowip` entry: an address, `addr/prefix` or `addr/netmask`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllowIp {
    /// The network address.
    pub net: IpAddr,
    /// Prefix length in bits.
    pub prefix: u8,
}

impl AllowIp {
    /// Parses Core's forms: `1.2.3.4`, `1.2.3.0/24`, `1.2.3.0/255.255.255.0`, `::1`, `fe80::/10`.
    pub fn parse(s: &str) -> Result<AllowIp, ConfigError> {
        let bad = || {
            ConfigError::Invalid(format!("Invalid -rpcallowip subnet specification: {s}. Valid are a single IP (e.g. 1.2.3.4), a network/netmask (e.g. 1.2.3.4/255.255.255.0) or a network/CIDR (e.g. 1.2.3.4/24)."))
        };
        let (addr, mask) = match s.split_once('/') {
            Some((a, m)) => (a, Some(m)),
            None => (s, None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match mask {
            None => max,
            Some(m) => match m.parse::<u8>() {
                Ok(p) if p <= max => p,
                Ok(_) => return Err(bad()),
                Err(_) => {
                    let mask: IpAddr = m.parse().map_err(|_| bad())?;
                    prefix_of_mask(mask, net).ok_or_else(bad)?
                }
            },
        };
        Ok(AllowIp { net, prefix })
    }

    /// Whether `ip` is inside this subnet (IPv4-mapped IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                masked(u32::from(n).into(), 32, self.prefix) == masked(u32::from(a).into(), 32, self.prefix)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                masked(u128::from(n), 128, self.prefix) == masked(u128::from(a), 128, self.prefix)
            }
            _ => false,
        }
    }

    /// 127.0.0.0/8 and ::1, which are always allowed.
    pub fn loopback() -> [AllowIp; 2] {
        [
            AllowIp {
                net: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)),
                prefix: 8,
            },
            AllowIp {
                net: IpAddr::V6(Ipv6Addr::LOCALHOST),
                prefix: 128,
            },
        ]
    }
}

fn masked(v: u128, bits: u8, prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        v >> (bits - prefix)
    }
}

/// The prefix length of a contiguous netmask of the same family as `net`.
fn prefix_of_mask(mask: IpAddr, net: IpAddr) -> Option<u8> {
    let (v, bits) = match (mask, net) {
        (IpAddr::V4(m), IpAddr::V4(_)) => (u128::from(u32::from(m)) << 96, 32),
        (IpAddr::V6(m), IpAddr::V6(_)) => (u128::from(m), 128),
        _ => return None,
    };
    let ones = v.leading_ones();
    (v.checked_shl(ones).unwrap_or(0) == 0 && ones <= bits).then_some(ones as u8)
}

/// One `-rpcauth=<user>:<salt>$<hmac-sha256 hex>` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcAuthEntry {
    /// The user name.
    pub user: String,
    /// The salt (the HMAC key, as text).
    pub salt: String,
    /// Hex of HMAC-SHA256(key = salt, message = password).
    pub hash: String,
}

impl RpcAuthEntry {
    /// Parses `user:salt$hash`.
    pub fn parse(s: &str) -> Result<RpcAuthEntry, ConfigError> {
        let bad = || ConfigError::Invalid(format!("Invalid -rpcauth argument: {s}"));
        let (user, rest) = s.split_once(':').ok_or_else(bad)?;
        let (salt, hash) = rest.split_once('$').ok_or_else(bad)?;
        if user.is_empty() || salt.is_empty() || hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(RpcAuthEntry {
            user: user.into(),
            salt: salt.into(),
            hash: hash.to_ascii_lowercase(),
        })
    }
}

/// The resolved RPC server settings.
#[derive(Clone, Debug)]
pub struct RpcConfig {
    /// `-server`: run the RPC server at all.
    pub enabled: bool,
    /// TCP addresses for HTTP/1.1; HTTP/3 binds the same addresses on UDP.
    pub binds: Vec<SocketAddr>,
    /// Clients allowed to connect (loopback always is).
    pub allow: Vec<AllowIp>,
    /// `-rpcuser` and `-rpcpassword`, when both are set.
    pub user: Option<(String, String)>,
    /// `-rpcauth` entries.
    pub rpcauth: Vec<RpcAuthEntry>,
    /// Where the cookie is written (`None`: no cookie, because a password is set).
    pub cookie_file: Option<PathBuf>,
    /// The HTTP/3 door's certificate and key (PEM), created on first start.
    pub cert_file: PathBuf,
    /// The key for `cert_file`.
    pub key_file: PathBuf,
    /// `-rpchttp3`: also serve HTTP/3 on UDP.
    pub http3: bool,
    /// `-rest`: serve the REST interface.
    pub rest: bool,
    /// Warnings to log at start-up (ignored flags).
    pub warnings: Vec<String>,
}

impl RpcConfig {
    /// Resolves the RPC keys of flags-over-file settings against the chain's default port
    /// and data dir, as Core's httpserver does.
    pub fn resolve(s: &FileSettings, default_port: u16, data_dir: &std::path::Path) -> Result<RpcConfig, ConfigError> {
        let port = s.rpcport.unwrap_or(default_port);
        let mut allow = AllowIp::loopback().to_vec();
        for a in s.rpcallowip.iter().flatten() {
            allow.push(AllowIp::parse(a)?);
        }
        let mut warnings = Vec::new();
        let binds = match (&s.rpcallowip, &s.rpcbind) {
            // Without -rpcallowip only loopback may connect, so bind only loopback.
            (None, b) => {
                if b.is_some() {
                    warnings.push(
                        "WARNING: option -rpcbind was ignored because -rpcallowip was not specified, refusing to allow everyone to connect".into(),
                    );
                }
                vec![
                    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
                    SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
                ]
            }
            (Some(_), Some(b)) => b.iter().map(|s| parse_bind(s, port)).collect::<Result<_, _>>()?,
            (Some(_), None) => vec![
                SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
            ],
        };
        let user = match (&s.rpcuser, &s.rpcpassword) {
            (Some(u), Some(p)) if !p.is_empty() => {
                if u.contains(':') {
                    return Err(ConfigError::Invalid("-rpcuser must not contain a ':'".into()));
                }
                Some((u.clone(), p.clone()))
            }
            (Some(_), None) | (None, Some(_)) => {
                warnings.push("-rpcuser and -rpcpassword must both be set; using the cookie".into());
                None
            }
            _ => None,
        };
        let rpcauth = s
            .rpcauth
            .iter()
            .flatten()
            .map(|s| RpcAuthEntry::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        // As Core: a configured password turns the cookie off.
        let cookie_file = user.is_none().then(|| match &s.rpccookiefile {
            Some(f) => {
                let p = PathBuf::from(f);
                if p.is_absolute() {
                    p
                } else {
                    data_dir.join(p)
                }
            }
            None => data_dir.join(".cookie"),
        });
        Ok(RpcConfig {
            enabled: s.server.unwrap_or(true),
            binds,
            allow,
            user,
            rpcauth,
            cookie_file,
            cert_file: data_dir.join("rpc-cert.pem"),
            key_file: data_dir.join("rpc-key.pem"),
            http3: s.rpchttp3.unwrap_or(true),
            rest: s.rest.unwrap_or(false),
            warnings,
        })
    }
}

/// Parses `host[:port]` or `[v6]:port` for `-rpcbind`.
fn parse_bind(s: &str, port: u16) -> Result<SocketAddr, ConfigError> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    let host = s.trim_start_matches('[').trim_end_matches(']');
    host.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, port))
        .map_err(|_| ConfigError::Invalid(format!("Invalid -rpcbind address: {s}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowip_forms() {
        let a = AllowIp::parse("10.1.0.0/16").unwrap();
        assert!(a.contains("10.1.200.3".parse().unwrap()));
        assert!(!a.contains("10.2.0.1".parse().unwrap()));
        assert_eq!(AllowIp::parse("10.1.0.0/255.255.0.0").unwrap(), a);
        assert!(AllowIp::parse("10.1.0.0/255.0.255.0").is_err());
        assert!(AllowIp::parse("10.1.0.0/33").is_err());
        assert!(AllowIp::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(AllowIp::parse("::1").unwrap().contains("::1".parse().unwrap()));
        assert!(AllowIp::loopback()[0].contains("::ffff:127.0.0.5".parse().unwrap()));
        assert!(AllowIp::parse("nonsense").is_err());
    }

    #[test]
    fn binds_follow_core() {
        let dir = std::path::Path::new("/d");
        let s = FileSettings {
            rpcbind: Some(vec!["0.0.0.0".into()]),
            ..Default::default()
        };
        let c = RpcConfig::resolve(&s, 18443, dir).unwrap();
        assert!(
            c.binds.iter().all(|b| b.ip().is_loopback()),
            "rpcbind without rpcallowip"
        );
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(c.cookie_file.as_deref(), Some(dir.join(".cookie").as_path()));
        let s = FileSettings {
            rpcbind: Some(vec!["127.0.0.1:5".into(), "[::1]".into()]),
            rpcallowip: Some(vec!["10.0.0.0/8".into()]),
            rpcuser: Some("u".into()),
            rpcpassword: Some("p".into()),
            ..Default::default()
        };
        let c = RpcConfig::resolve(&s, 18443, dir).unwrap();
        assert_eq!(
            c.binds,
            ["127.0.0.1:5".parse().unwrap(), "[::1]:18443".parse().unwrap()]
        );
        assert!(c.cookie_file.is_none());
        assert!(RpcAuthEntry::parse("alice:f00$abc").is_err());
        let h = "a".repeat(64);
        assert_eq!(RpcAuthEntry::parse(&format!("alice:f00${h}")).unwrap().user, "alice");
    }
}
