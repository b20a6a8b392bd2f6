//! Who may call JSON-RPC: the cookie, `-rpcuser`/`-rpcpassword` and `-rpcauth` entries,
//! presented as `Authorization: Basic`.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bitcoin::hashes::{hmac, sha256, Hash, HashEngine};
use http::HeaderValue;
use rand::rngs::OsRng;
use rand::RngCore;

use crate::config::rpc::{RpcAuthEntry, RpcConfig};

/// The user name of the cookie credentials, as in Core.
pub const COOKIE_USER: &str = "__cookie__";

/// How long a failed login waits before its 401, to slow down password guessing (as Core).
pub const AUTH_FAIL_DELAY: Duration = Duration::from_millis(250);

/// The `WWW-Authenticate` value sent with a 401.
pub const CHALLENGE: &str = "Basic realm=\"jsonrpc\"";

/// The cookie file, removed again when this is dropped.
#[derive(Debug)]
pub struct Cookie {
    path: PathBuf,
    password: String,
}

impl Cookie {
    /// Writes `__cookie__:<64 hex chars>` to `path`, readable by the owner only.
    pub fn create(path: &Path) -> io::Result<Cookie> {
        let mut secret = [0u8; 32];
        OsRng.fill_bytes(&mut secret);
        let password = hex::encode(secret);
        write_private(path, format!("{COOKIE_USER}:{password}").as_bytes())?;
        Ok(Cookie {
            path: path.to_path_buf(),
            password,
        })
    }

    /// The cookie's password part.
    pub fn password(&self) -> &str {
        &self.password
    }
}

impl Drop for Cookie {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_file(&self.path) {
            tracing::warn!("Unable to remove RPC cookie {}: {e}", self.path.display());
        }
    }
}

/// Writes through a temp file and a rename, so a reader never sees half a file, with mode
/// 0600 from creation so the secret is never readable by others.
pub(crate) fn write_private(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    // A leftover temp file would keep its old mode through `create`.
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

/// The accepted credentials.
#[derive(Debug)]
pub struct Credentials {
    cookie: Option<String>,
    user: Option<(String, String)>,
    rpcauth: Vec<RpcAuthEntry>,
}

impl Credentials {
    /// The config's credentials plus the cookie password, if a cookie was written.
    pub fn new(config: &RpcConfig, cookie: Option<&Cookie>) -> Self {
        Credentials {
            cookie: cookie.map(|c| c.password().to_string()),
            user: config.user.clone(),
            rpcauth: config.rpcauth.clone(),
        }
    }

    /// Whether an `Authorization` header carries valid credentials.
    pub fn check_header(&self, value: Option<&HeaderValue>) -> bool {
        let Some((user, pass)) = value.and_then(|v| parse_basic(v.as_bytes())) else {
            return false;
        };
        self.check(&user, &pass)
    }

    /// Whether `user`/`pass` match any credentials; every candidate is compared, in constant
    /// time, so timing tells nothing about which one came close.
    pub fn check(&self, user: &str, pass: &str) -> bool {
        let mut ok = false;
        if let Some(cookie) = &self.cookie {
            ok |= ct_eq(user.as_bytes(), COOKIE_USER.as_bytes()) & ct_eq(pass.as_bytes(), cookie.as_bytes());
        }
        if let Some((u, p)) = &self.user {
            ok |= ct_eq(user.as_bytes(), u.as_bytes()) & ct_eq(pass.as_bytes(), p.as_bytes());
        }
        for entry in &self.rpcauth {
            let hash = rpcauth_hash(&entry.salt, pass);
            ok |= ct_eq(user.as_bytes(), entry.user.as_bytes()) & ct_eq(hash.as_bytes(), entry.hash.as_bytes());
        }
        ok
    }
}

/// Lower-case hex of HMAC-SHA256 with the salt text as key and the password as message.
pub fn rpcauth_hash(salt: &str, password: &str) -> String {
    let mut engine = hmac::HmacEngine::<sha256::Hash>::new(salt.as_bytes());
    engine.input(password.as_bytes());
    hex::encode(hmac::Hmac::<sha256::Hash>::from_engine(engine).to_byte_array())
}

/// Equality whose time depends only on the lengths.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `Basic <base64(user:pass)>` → `(user, pass)`; the user ends at the first `:`.
fn parse_basic(value: &[u8]) -> Option<(String, String)> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(rest.trim())?).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

/// Standard base64 with or without padding; `None` on anything else. Small enough that a
/// crate is not worth it, and the input is bounded by the header limit.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let data = s.trim_end_matches('=');
    if s.len() - data.len() > 2 || data.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 2);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in data.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RpcConfig {
        RpcConfig {
            enabled: true,
            binds: vec![],
            allow: vec![],
            user: Some(("alice".into(), "secret".into())),
            rpcauth: vec![RpcAuthEntry::parse(
                "bob:salt123$1209e81139988a781240a48fd64ab8a29d1e19750ac3c1b752307655f8c4d1bb",
            )
            .unwrap()],
            cookie_file: None,
            cert_file: PathBuf::new(),
            key_file: PathBuf::new(),
            http3: false,
            rest: false,
            warnings: vec![],
        }
    }

    #[test]
    fn base64_vectors() {
        // RFC 4648 section 10.
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_decode(enc).unwrap(), plain.as_bytes(), "{enc}");
        }
        assert_eq!(base64_decode("Zm9vYg").unwrap(), b"foob");
        assert!(base64_decode("Zm9v!").is_none());
        assert!(base64_decode("Z").is_none());
        assert!(base64_decode("Zg===").is_none());
    }

    #[test]
    fn rpcauth_hash_matches_reference() {
        // Computed independently: hmac.new(b"salt123", b"hunter2", hashlib.sha256).hexdigest()
        assert_eq!(
            rpcauth_hash("salt123", "hunter2"),
            "1209e81139988a781240a48fd64ab8a29d1e19750ac3c1b752307655f8c4d1bb"
        );
    }

    #[test]
    fn credentials_accept_user_rpcauth_and_cookie() {
        let dir = tempfile::tempdir().unwrap();
        let cookie = Cookie::create(&dir.path().join(".cookie")).unwrap();
        let c = Credentials::new(&config(), Some(&cookie));
        assert!(c.check("alice", "secret"));
        assert!(c.check("bob", "hunter2"));
        assert!(c.check(COOKIE_USER, cookie.password()));
        assert!(!c.check("alice", "hunter2"));
        assert!(!c.check("bob", "secret"));
        assert!(!c.check(COOKIE_USER, ""));
        assert!(!c.check("", ""));
        // alice:secret
        let h = HeaderValue::from_static("Basic YWxpY2U6c2VjcmV0");
        assert!(c.check_header(Some(&h)));
        let h = HeaderValue::from_static("basic   YWxpY2U6c2VjcmV0 ");
        assert!(c.check_header(Some(&h)));
        let h = HeaderValue::from_static("Bearer YWxpY2U6c2VjcmV0");
        assert!(!c.check_header(Some(&h)));
        assert!(!c.check_header(None));
    }

    #[test]
    fn cookie_is_private_and_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".cookie");
        let cookie = Cookie::create(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let (user, pass) = text.split_once(':').unwrap();
        assert_eq!(user, COOKIE_USER);
        assert_eq!(pass, cookie.password());
        assert_eq!(pass.len(), 64);
        assert!(pass.bytes().all(|b| b.is_ascii_hexdigit()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let other = Cookie::create(&dir.path().join(".cookie2")).unwrap();
        assert_ne!(other.password(), cookie.password());
        drop(cookie);
        assert!(!path.exists());
    }
}
