//! Peer permissions granted by `-whitebind` and `-whitelist`.
//!
//! Follows Bitcoin Core's `NetPermissionFlags` and its parsers (src/net_permissions.cpp):
//! the same bits (so `noban` carries `download` and `forcerelay` carries `relay`), the same
//! `[perm,...@]target` syntax and the same error messages. Only IP targets are taken;
//! Core's onion/I2P whitelists are out of scope with [`SubNet`].

use core::net::{IpAddr, SocketAddr};
use std::fmt;
use std::ops::{BitOr, BitOrAssign};
use std::str::FromStr;

use crate::p2p::bans::SubNet;

/// Core's `DEFAULT_WHITELISTRELAY`: implicit whitelisting grants `relay`.
pub const DEFAULT_WHITELIST_RELAY: bool = true;
/// Core's `DEFAULT_WHITELISTFORCERELAY`: implicit whitelisting does not grant `forcerelay`.
pub const DEFAULT_WHITELIST_FORCE_RELAY: bool = false;

/// A set of permission flags, with Core's bit values.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NetPermissions(u32);

impl NetPermissions {
    /// No permissions.
    pub const NONE: Self = Self(0);
    /// May load a BIP37 bloom filter even with `-peerbloomfilters=0`.
    pub const BLOOM_FILTER: Self = Self(1 << 1);
    /// Its transactions are relayed even in `-blocksonly` mode, without announcement limits.
    pub const RELAY: Self = Self(1 << 3);
    /// Its transactions are relayed even if already in the mempool; includes `relay`.
    pub const FORCE_RELAY: Self = Self((1 << 2) | Self::RELAY.0);
    /// Served during IBD and past `-maxuploadtarget`.
    pub const DOWNLOAD: Self = Self(1 << 6);
    /// Never banned, discouraged or disconnected for misbehaviour; includes `download`.
    pub const NO_BAN: Self = Self((1 << 4) | Self::DOWNLOAD.0);
    /// May request the mempool (BIP35).
    pub const MEMPOOL: Self = Self(1 << 5);
    /// `getaddr` answers skip the cache, and its `addr` messages are not rate limited.
    pub const ADDR: Self = Self(1 << 7);
    /// The user gave no permission list: the `-whitelistrelay`-style defaults apply.
    pub const IMPLICIT: Self = Self(1 << 31);
    /// Every permission.
    pub const ALL: Self = Self(
        Self::BLOOM_FILTER.0
            | Self::FORCE_RELAY.0
            | Self::RELAY.0
            | Self::NO_BAN.0
            | Self::MEMPOOL.0
            | Self::DOWNLOAD.0
            | Self::ADDR.0,
    );

    /// The raw bits.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Whether every bit of `flag` is set.
    pub fn has(self, flag: NetPermissions) -> bool {
        self.0 & flag.0 == flag.0
    }

    /// Replaces the implicit marker with what implicit whitelisting grants (Core's
    /// `AddWhitelistPermissionFlags`): `noban`, `mempool`, and `relay`/`forcerelay` as
    /// `-whitelistrelay`/`-whitelistforcerelay` say.
    pub fn resolve_implicit(self, whitelist_relay: bool, whitelist_force_relay: bool) -> Self {
        if !self.has(Self::IMPLICIT) {
            return self;
        }
        let mut out = Self(self.0 & !Self::IMPLICIT.0);
        if whitelist_force_relay {
            out |= Self::FORCE_RELAY;
        }
        if whitelist_relay {
            out |= Self::RELAY;
        }
        out | Self::MEMPOOL | Self::NO_BAN
    }

    /// Names for getpeerinfo's `permissions`, in Core's order.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (Self::BLOOM_FILTER, "bloomfilter"),
            (Self::NO_BAN, "noban"),
            (Self::FORCE_RELAY, "forcerelay"),
            (Self::RELAY, "relay"),
            (Self::MEMPOOL, "mempool"),
            (Self::DOWNLOAD, "download"),
            (Self::ADDR, "addr"),
        ]
        .into_iter()
        .filter(|(flag, _)| self.has(*flag))
        .map(|(_, name)| name)
        .collect()
    }
}

impl BitOr for NetPermissions {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for NetPermissions {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for NetPermissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names = self.names();
        if self.has(Self::IMPLICIT) {
            names.push("implicit");
        }
        write!(f, "NetPermissions({})", names.join(","))
    }
}

/// Which connections a `-whitelist` entry applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionDirection {
    /// Inbound only (the default).
    In,
    /// Outbound only.
    Out,
    /// Both.
    Both,
}

impl ConnectionDirection {
    /// Whether the entry applies to inbound connections.
    pub fn inbound(self) -> bool {
        matches!(self, Self::In | Self::Both)
    }

    /// Whether the entry applies to outbound connections.
    pub fn outbound(self) -> bool {
        matches!(self, Self::Out | Self::Both)
    }
}

/// A `-whitebind`/`-whitelist` value that does not parse; the messages are Core's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PermissionError {
    /// A permission name Core does not know.
    #[error("Invalid P2P permission: '{0}'")]
    Unknown(String),
    /// `out` on a whitebind, which only takes inbound connections.
    #[error("whitebind may only be used for incoming connections (\"out\" was passed)")]
    WhitebindOut,
    /// `in`/`out` with no permission.
    #[error("Only direction was set, no permissions: '{0}'")]
    OnlyDirection(String),
    /// The whitebind address is not a numeric address.
    #[error("Cannot resolve -whitebind address: '{0}'")]
    WhitebindAddress(String),
    /// The whitebind address has no port (or port 0).
    #[error("Need to specify a port with -whitebind: '{0}'")]
    WhitebindPort(String),
    /// The whitelist subnet does not parse.
    #[error("Invalid netmask specified in -whitelist: '{0}'")]
    WhitelistNetmask(String),
}

/// A parsed `-whitebind=[perm,...@]addr:port`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WhitebindPermissions {
    /// Granted to peers connecting to this address.
    pub flags: NetPermissions,
    /// The address to listen on.
    pub addr: SocketAddr,
}

/// A parsed `-whitelist=[perm,...@]subnet`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WhitelistPermissions {
    /// Granted to peers in the subnet.
    pub flags: NetPermissions,
    /// The peers it covers.
    pub subnet: SubNet,
    /// The connections it covers.
    pub direction: ConnectionDirection,
}

/// Splits `perm,...@rest` into flags, the direction words and `rest`.
fn parse_flags(s: &str, allow_out: bool) -> Result<(NetPermissions, ConnectionDirection, &str), PermissionError> {
    let Some((list, rest)) = s.split_once('@') else {
        return Ok((NetPermissions::IMPLICIT, ConnectionDirection::In, s));
    };
    let mut flags = NetPermissions::NONE;
    let (mut inbound, mut outbound) = (false, false);
    for word in list.split(',') {
        match word {
            "bloomfilter" | "bloom" => flags |= NetPermissions::BLOOM_FILTER,
            "noban" => flags |= NetPermissions::NO_BAN,
            "forcerelay" => flags |= NetPermissions::FORCE_RELAY,
            "mempool" => flags |= NetPermissions::MEMPOOL,
            "download" => flags |= NetPermissions::DOWNLOAD,
            "all" => flags |= NetPermissions::ALL,
            "relay" => flags |= NetPermissions::RELAY,
            "addr" => flags |= NetPermissions::ADDR,
            "in" => inbound = true,
            "out" if allow_out => outbound = true,
            "out" => return Err(PermissionError::WhitebindOut),
            // Core tolerates empty entries such as "bloom,,noban@".
            "" => {}
            other => return Err(PermissionError::Unknown(other.to_string())),
        }
    }
    let direction = match (inbound, outbound) {
        (false, false) => return Ok((flags, ConnectionDirection::In, rest)),
        (true, false) => ConnectionDirection::In,
        (false, true) => ConnectionDirection::Out,
        (true, true) => ConnectionDirection::Both,
    };
    if flags == NetPermissions::NONE {
        return Err(PermissionError::OnlyDirection(s.to_string()));
    }
    Ok((flags, direction, rest))
}

/// Parses a `-whitebind` value: `[perm,...@]ip:port`, IPv6 in brackets.
pub fn parse_whitebind(s: &str) -> Result<WhitebindPermissions, PermissionError> {
    let (flags, _, target) = parse_flags(s, false)?;
    let addr = match SocketAddr::from_str(target) {
        Ok(addr) => addr,
        Err(_) => {
            let bare = target
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .unwrap_or(target);
            return Err(match IpAddr::from_str(bare) {
                Ok(_) => PermissionError::WhitebindPort(target.to_string()),
                Err(_) => PermissionError::WhitebindAddress(target.to_string()),
            });
        }
    };
    if addr.port() == 0 {
        return Err(PermissionError::WhitebindPort(target.to_string()));
    }
    let addr = SocketAddr::new(addr.ip().to_canonical(), addr.port());
    Ok(WhitebindPermissions { flags, addr })
}

/// Parses a `-whitelist` value: `[perm,...,in,out@]subnet`.
pub fn parse_whitelist(s: &str) -> Result<WhitelistPermissions, PermissionError> {
    let (flags, direction, target) = parse_flags(s, true)?;
    let subnet = SubNet::from_str(target).map_err(|_| PermissionError::WhitelistNetmask(target.to_string()))?;
    Ok(WhitelistPermissions {
        flags,
        subnet,
        direction,
    })
}

/// The permissions `ranges` grant a peer at `ip` on an inbound (or outbound) connection,
/// with implicit entries resolved as `-whitelistrelay`/`-whitelistforcerelay` say.
pub fn whitelist_flags(
    ip: &IpAddr,
    inbound: bool,
    ranges: &[WhitelistPermissions],
    whitelist_relay: bool,
    whitelist_force_relay: bool,
) -> NetPermissions {
    ranges
        .iter()
        .filter(|r| {
            if inbound {
                r.direction.inbound()
            } else {
                r.direction.outbound()
            }
        })
        .filter(|r| r.subnet.contains(ip))
        .fold(NetPermissions::NONE, |acc, r| acc | r.flags)
        .resolve_implicit(whitelist_relay, whitelist_force_relay)
}

#[cfg(test)]
mod tests {
    use super::NetPermissions as P;
    use super::*;

    fn wb(s: &str) -> Result<WhitebindPermissions, PermissionError> {
        parse_whitebind(s)
    }

    fn wl(s: &str) -> Result<WhitelistPermissions, PermissionError> {
        parse_whitelist(s)
    }

    #[test]
    fn whitebind_addresses() {
        assert_eq!(wb("").unwrap_err().to_string(), "Cannot resolve -whitebind address: ''");
        assert_eq!(
            wb("127.0.0.1").unwrap_err().to_string(),
            "Need to specify a port with -whitebind: '127.0.0.1'"
        );
        assert!(matches!(wb("[::1]"), Err(PermissionError::WhitebindPort(_))));
        assert!(matches!(wb("::1"), Err(PermissionError::WhitebindPort(_))));
        assert!(matches!(wb("1.2.3.4:0"), Err(PermissionError::WhitebindPort(_))));
        assert!(matches!(wb("1.2.3.4:99999"), Err(PermissionError::WhitebindAddress(_))));
        assert!(matches!(
            wb("example.com:8333"),
            Err(PermissionError::WhitebindAddress(_))
        ));
        let ok = wb("1.2.3.4:32").unwrap();
        assert_eq!(ok.flags, P::IMPLICIT);
        assert_eq!(ok.addr, "1.2.3.4:32".parse().unwrap());
        assert_eq!(wb("noban@[::1]:8333").unwrap().addr, "[::1]:8333".parse().unwrap());
        assert_eq!(wb("@[::ffff:1.2.3.4]:8").unwrap().addr, "1.2.3.4:8".parse().unwrap());
    }

    #[test]
    fn flag_lists() {
        let flags = |s: &str| wb(s).unwrap().flags;
        assert_eq!(flags("bloom@1.2.3.4:32"), P::BLOOM_FILTER);
        assert_eq!(flags("bloomfilter@1.2.3.4:32"), P::BLOOM_FILTER);
        assert_eq!(flags("@1.2.3.4:32"), P::NONE);
        assert_eq!(flags(",@1.2.3.4:32"), P::NONE);
        assert_eq!(flags(",,@1.2.3.4:32"), P::NONE);
        assert_eq!(
            flags("bloom,forcerelay@1.2.3.4:32"),
            P::BLOOM_FILTER | P::FORCE_RELAY | P::RELAY
        );
        assert_eq!(
            flags("bloom,relay,noban@1.2.3.4:32"),
            P::BLOOM_FILTER | P::RELAY | P::NO_BAN
        );
        assert_eq!(
            flags("bloom,relay,,noban@1.2.3.4:32"),
            P::BLOOM_FILTER | P::RELAY | P::NO_BAN
        );
        assert_eq!(flags("all@1.2.3.4:32"), P::ALL);
        assert_eq!(flags("in,addr@1.2.3.4:32"), P::ADDR);
        // noban carries download; download alone does not carry noban.
        assert_eq!(flags("noban@1.2.3.4:32"), P::NO_BAN);
        assert!(flags("noban@1.2.3.4:32").has(P::DOWNLOAD));
        assert_eq!(flags("noban,download@1.2.3.4:32"), P::NO_BAN);
        assert_eq!(flags("download,noban@1.2.3.4:32"), P::NO_BAN);
        assert_eq!(flags("download@1.2.3.4:32"), P::DOWNLOAD);
        assert!(!flags("download@1.2.3.4:32").has(P::NO_BAN));
        assert!(flags("forcerelay@1.2.3.4:32").has(P::RELAY));
    }

    #[test]
    fn bad_permissions() {
        assert_eq!(
            wb("bloom,forcerelay,oopsie@1.2.3.4:32").unwrap_err().to_string(),
            "Invalid P2P permission: 'oopsie'"
        );
        assert_eq!(
            wb("out,forcerelay@1.2.3.4:32").unwrap_err().to_string(),
            "whitebind may only be used for incoming connections (\"out\" was passed)"
        );
        assert_eq!(
            wl("in@1.2.3.4").unwrap_err().to_string(),
            "Only direction was set, no permissions: 'in@1.2.3.4'"
        );
        assert!(matches!(wl("Noban@1.2.3.4"), Err(PermissionError::Unknown(_))));
        assert!(matches!(wl(" noban@1.2.3.4"), Err(PermissionError::Unknown(_))));
    }

    #[test]
    fn whitelist_entries() {
        assert_eq!(
            wl("bloom,forcerelay,noban@1.2.3.4:32").unwrap_err().to_string(),
            "Invalid netmask specified in -whitelist: '1.2.3.4:32'"
        );
        let e = wl("noban@1.2.3.4").unwrap();
        assert_eq!(e.flags, P::NO_BAN);
        assert_eq!(e.direction, ConnectionDirection::In);
        let e = wl("bloom,forcerelay,noban,relay@1.2.3.4/32").unwrap();
        assert_eq!(e.flags, P::BLOOM_FILTER | P::FORCE_RELAY | P::NO_BAN | P::RELAY);
        assert_eq!(e.subnet.to_string(), "1.2.3.4/32");
        assert_eq!(wl("in,relay@1.2.3.4").unwrap().direction, ConnectionDirection::In);
        assert_eq!(wl("out,bloom@1.2.3.4").unwrap().direction, ConnectionDirection::Out);
        assert_eq!(wl("in,out,bloom@1.2.3.4").unwrap().direction, ConnectionDirection::Both);
        let e = wl("10.0.0.0/255.0.0.0").unwrap();
        assert_eq!(e.flags, P::IMPLICIT);
        assert_eq!(e.subnet.to_string(), "10.0.0.0/8");
        assert_eq!(wl("mempool@2001:db8::/32").unwrap().subnet.to_string(), "2001:db8::/32");
    }

    #[test]
    fn names_in_core_order() {
        assert_eq!(
            P::ALL.names(),
            [
                "bloomfilter",
                "noban",
                "forcerelay",
                "relay",
                "mempool",
                "download",
                "addr"
            ]
        );
        assert_eq!(P::NO_BAN.names(), ["noban", "download"]);
        assert_eq!(P::FORCE_RELAY.names(), ["forcerelay", "relay"]);
        assert!(P::NONE.names().is_empty());
        assert!(P::IMPLICIT.names().is_empty());
    }

    #[test]
    fn implicit_resolution_and_matching() {
        let implicit = P::IMPLICIT.resolve_implicit(true, false);
        assert_eq!(implicit, P::RELAY | P::MEMPOOL | P::NO_BAN);
        assert!(!implicit.has(P::IMPLICIT));
        assert_eq!(
            P::IMPLICIT.resolve_implicit(false, true),
            P::FORCE_RELAY | P::MEMPOOL | P::NO_BAN
        );
        assert_eq!(P::BLOOM_FILTER.resolve_implicit(true, true), P::BLOOM_FILTER);

        let ranges = [
            wl("10.0.0.0/8").unwrap(),
            wl("out,addr@10.1.0.0/16").unwrap(),
            wl("bloom@2001:db8::/32").unwrap(),
        ];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let rel = DEFAULT_WHITELIST_RELAY;
        let force = DEFAULT_WHITELIST_FORCE_RELAY;
        assert_eq!(whitelist_flags(&ip("10.1.2.3"), true, &ranges, rel, force), implicit);
        assert_eq!(whitelist_flags(&ip("10.1.2.3"), false, &ranges, rel, force), P::ADDR);
        assert_eq!(whitelist_flags(&ip("10.2.0.1"), false, &ranges, rel, force), P::NONE);
        assert_eq!(
            whitelist_flags(&ip("2001:db8::5"), true, &ranges, rel, force),
            P::BLOOM_FILTER
        );
        assert_eq!(whitelist_flags(&ip("11.0.0.1"), true, &ranges, rel, force), P::NONE);
    }
}
