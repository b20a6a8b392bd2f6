//! Bans and discouragement: Core's `BanMan` (src/banman.cpp) as a plain value.
//!
//! Manual bans cover a subnet until a set time, and block connections outright.
//! Discouragement marks a single address that misbehaved: such peers only get spare
//! inbound slots and are evicted first. The driver passes the time in and stores the
//! encoded list whenever [`BanMan::take_dirty`] says it changed.

mod codec;
pub mod discourage;
pub mod subnet;

use core::net::IpAddr;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::p2p::time::Time;

pub use discourage::Discouraged;
pub use subnet::{SubNet, SubNetError};

/// Core's `DEFAULT_MISBEHAVING_BANTIME`: a ban with no time given lasts a day.
pub const DEFAULT_BAN_TIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Ban-list errors; the RPC-facing messages are Core's, word for word.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BanError {
    /// The IP/subnet string does not parse.
    #[error("Error: Invalid IP/Subnet")]
    InvalidSubnet,
    /// `setban add` on an address or subnet that is already banned.
    #[error("Error: IP/Subnet already banned")]
    AlreadyBanned,
    /// `setban remove` on a subnet that has no ban.
    #[error("Error: Unban failed. Requested address/subnet was not previously manually banned.")]
    NotBanned,
    /// `setban add` with an absolute time that has passed.
    #[error("Error: Absolute timestamp is in the past")]
    AbsoluteInPast,
    /// The stored list ends early.
    #[error("ban list truncated")]
    Truncated,
    /// The stored list has a format version this build does not know.
    #[error("unknown ban list version {0}")]
    Version(u8),
    /// The stored list is malformed.
    #[error("corrupt ban list: {0}")]
    Corrupt(&'static str),
}

impl From<SubNetError> for BanError {
    fn from(_: SubNetError) -> Self {
        BanError::InvalidSubnet
    }
}

/// When a ban was made and when it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BanEntry {
    /// When the ban was created.
    pub created: Time,
    /// The ban holds while the time is before this.
    pub until: Time,
}

impl BanEntry {
    /// The ban's full length (`listbanned`'s `ban_duration`).
    pub fn duration(&self) -> Duration {
        self.until.since(self.created)
    }

    /// What is left of the ban at `now` (`listbanned`'s `time_remaining`).
    pub fn remaining(&self, now: Time) -> Duration {
        self.until.since(now)
    }
}

/// Core's `setban` time arithmetic: `bantime` seconds from now, or until the absolute
/// UNIX time `bantime` if `absolute`; zero or negative means `default`.
pub fn ban_until(now: Time, bantime: i64, absolute: bool, default: Duration) -> Result<Time, BanError> {
    if absolute && bantime < now.as_secs().min(i64::MAX as u64) as i64 {
        return Err(BanError::AbsoluteInPast);
    }
    if bantime <= 0 {
        return Ok(now + default);
    }
    let secs = bantime.unsigned_abs();
    Ok(if absolute {
        Time::from_secs(secs)
    } else {
        now + Duration::from_secs(secs)
    })
}

/// Manual bans and discouraged addresses.
#[derive(Clone, Debug, Default)]
pub struct BanMan {
    banned: BTreeMap<SubNet, BanEntry>,
    discouraged: Discouraged,
    dirty: bool,
}

impl BanMan {
    /// No bans, nothing discouraged.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bans `subnet` from `now` until `until`; an existing longer ban is kept.
    ///
    /// Returns whether the list changed.
    pub fn ban(&mut self, subnet: SubNet, now: Time, until: Time) -> bool {
        let longer = self.banned.get(&subnet).is_none_or(|e| e.until < until);
        if longer {
            self.banned.insert(subnet, BanEntry { created: now, until });
            self.dirty = true;
        }
        longer
    }

    /// `setban add`: bans `subnet`, refusing (as Core does) if a single address is
    /// already covered by any ban, or a wider subnet already has this exact ban.
    pub fn add_ban(&mut self, subnet: SubNet, now: Time, until: Time) -> Result<(), BanError> {
        let already = if subnet.is_single() {
            self.is_banned(&subnet.network(), now)
        } else {
            self.is_subnet_banned(&subnet, now)
        };
        if already {
            return Err(BanError::AlreadyBanned);
        }
        self.ban(subnet, now, until);
        Ok(())
    }

    /// Lifts the ban on exactly `subnet`; returns whether there was one.
    pub fn unban(&mut self, subnet: &SubNet) -> bool {
        let removed = self.banned.remove(subnet).is_some();
        self.dirty |= removed;
        removed
    }

    /// `setban remove`: [`BanMan::unban`] with Core's error when nothing was banned.
    pub fn remove_ban(&mut self, subnet: &SubNet) -> Result<(), BanError> {
        if self.unban(subnet) {
            Ok(())
        } else {
            Err(BanError::NotBanned)
        }
    }

    /// Lifts every manual ban (`clearbanned`); discouragement stays, as in Core.
    pub fn clear(&mut self) {
        self.dirty |= !self.banned.is_empty();
        self.banned.clear();
    }

    /// Whether any current ban covers `ip`.
    pub fn is_banned(&self, ip: &IpAddr, now: Time) -> bool {
        self.banned
            .iter()
            .any(|(subnet, entry)| now < entry.until && subnet.contains(ip))
    }

    /// Whether exactly `subnet` has a current ban.
    pub fn is_subnet_banned(&self, subnet: &SubNet, now: Time) -> bool {
        self.banned.get(subnet).is_some_and(|e| now < e.until)
    }

    /// The current bans, sorted by subnet, after sweeping out expired ones.
    pub fn list(&mut self, now: Time) -> Vec<(SubNet, BanEntry)> {
        self.sweep(now);
        self.banned.iter().map(|(s, e)| (*s, *e)).collect()
    }

    /// Drops bans that have ended; returns how many.
    pub fn sweep(&mut self, now: Time) -> usize {
        let before = self.banned.len();
        self.banned.retain(|_, e| now <= e.until);
        let swept = before - self.banned.len();
        self.dirty |= swept > 0;
        swept
    }

    /// Marks `ip` as discouraged (it misbehaved).
    pub fn discourage(&mut self, ip: IpAddr) {
        if !self.discouraged.contains(&ip) {
            self.dirty = true;
        }
        self.discouraged.insert(ip);
    }

    /// Whether `ip` is discouraged.
    pub fn is_discouraged(&self, ip: &IpAddr) -> bool {
        self.discouraged.contains(ip)
    }

    /// The discouraged set.
    pub fn discouraged(&self) -> &Discouraged {
        &self.discouraged
    }

    /// Whether the list changed since the last call, so the driver knows to store it.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// The list's stored form: bans and both discouragement generations.
    pub fn encode_bans(&self) -> Vec<u8> {
        codec::encode(&self.banned, &self.discouraged)
    }

    /// Restores a list from [`BanMan::encode_bans`], dropping bans that ended by `now`.
    pub fn decode_bans(bytes: &[u8], now: Time) -> Result<BanMan, BanError> {
        let (banned, discouraged) = codec::decode(bytes)?;
        let mut man = BanMan {
            banned,
            discouraged,
            dirty: false,
        };
        man.sweep(now);
        Ok(man)
    }
}

#[cfg(test)]
mod tests;

impl From<crate::p2p::wire::WireError> for BanError {
    fn from(e: crate::p2p::wire::WireError) -> Self {
        match e {
            crate::p2p::wire::WireError::TrailingBytes(_) => BanError::Corrupt("trailing bytes"),
            _ => BanError::Truncated,
        }
    }
}
