//! Output descriptors to scripts for the generate RPCs, as Core's `Parse` + `Expand` for the
//! key-only subset: `addr`, `raw`, `pk`, `pkh`, `wpkh`, `combo`, `sh(...)`, `tr(KEY)`,
//! `rawtr`, with hex or WIF keys and Core's checksum rules and error texts.

use bitcoin::hashes::Hash;
use bitcoin::key::{CompressedPublicKey, TweakedPublicKey};
use bitcoin::secp256k1::{PublicKey as SecpPublicKey, Secp256k1, XOnlyPublicKey};
use bitcoin::{Address, Network, PrivateKey, PubkeyHash, ScriptBuf};

use super::descriptor::descriptor_checksum;

/// Where an expression sits, which decides what it may contain (Core's `ParseScriptContext`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Top,
    P2sh,
    P2wpkh,
    P2tr,
}

/// A parsed key: its serialized public key, or an x-only key for taproot.
struct Key {
    bytes: Vec<u8>,
}

impl Key {
    fn compressed(&self) -> bool {
        self.bytes.len() == 33
    }
    fn xonly(&self) -> Result<XOnlyPublicKey, String> {
        let raw = if self.bytes.len() == 33 {
            &self.bytes[1..]
        } else {
            &self.bytes[..]
        };
        XOnlyPublicKey::from_slice(raw).map_err(|_| "Pubkey is invalid".to_string())
    }
}

/// The script `desc` describes on `network`; the error is Core's parse message.
pub fn descriptor_script(desc: &str, network: Network) -> Result<ScriptBuf, String> {
    let body = check_checksum(desc)?;
    let mut sp = body;
    let script = parse_script(&mut sp, Ctx::Top, network)?;
    if !sp.is_empty() {
        // Core's `Parse` leaves the error empty when text follows the expression.
        return Err(String::new());
    }
    Ok(script)
}

/// Core's `CheckChecksum` with the checksum optional; returns the part before `#`.
fn check_checksum(desc: &str) -> Result<&str, String> {
    let parts: Vec<&str> = desc.split('#').collect();
    if parts.len() > 2 {
        return Err("Multiple '#' symbols".into());
    }
    if let Some(given) = parts.get(1) {
        if given.len() != 8 {
            return Err(format!("Expected 8 character checksum, not {} characters", given.len()));
        }
    }
    let computed = descriptor_checksum(parts[0]).ok_or("Invalid characters in payload")?;
    if let Some(given) = parts.get(1) {
        if *given != computed {
            return Err(format!(
                "Provided checksum '{given}' does not match computed checksum '{computed}'"
            ));
        }
    }
    Ok(parts[0])
}

/// Core's `Expr`: the leading expression up to a top-level `,`, `)` or `}`.
fn expr<'a>(sp: &mut &'a str) -> &'a str {
    let mut level = 0u32;
    let mut end = sp.len();
    for (i, c) in sp.char_indices() {
        match c {
            '(' | '{' => level += 1,
            ')' | '}' if level > 0 => level -= 1,
            ')' | '}' | ',' if level == 0 => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let (head, rest) = sp.split_at(end);
    *sp = rest;
    head
}

/// Core's `Func`: the argument text of `name(...)`.
fn func<'a>(name: &str, e: &'a str) -> Option<&'a str> {
    e.strip_prefix(name)?.strip_prefix('(')?.strip_suffix(')')
}

fn parse_script(sp: &mut &str, ctx: Ctx, network: Network) -> Result<ScriptBuf, String> {
    let e = expr(sp);
    let top = ctx == Ctx::Top;
    let top_or_sh = matches!(ctx, Ctx::Top | Ctx::P2sh);
    if let Some(arg) = func("pk", e) {
        let key = parse_key(arg, ctx, network).map_err(|m| format!("pk(): {m}"))?;
        return Ok(ScriptBuf::builder()
            .push_slice(push_bytes(&key.bytes)?)
            .push_opcode(bitcoin::opcodes::all::OP_CHECKSIG)
            .into_script());
    }
    if let (true, Some(arg)) = (top_or_sh, func("pkh", e)) {
        let key = parse_key(arg, ctx, network).map_err(|m| format!("pkh(): {m}"))?;
        return Ok(p2pkh(&key));
    }
    if let Some(arg) = func("combo", e) {
        if !top {
            return Err("Can only have combo() at top level".into());
        }
        let key = parse_key(arg, ctx, network).map_err(|m| format!("combo(): {m}"))?;
        // Core takes P2WPKH of a compressed key's four scripts, else P2PKH of the two.
        return if key.compressed() {
            p2wpkh(&key)
        } else {
            Ok(p2pkh(&key))
        };
    }
    if let Some(arg) = func("wpkh", e) {
        if !top_or_sh {
            return Err("Can only have wpkh() at top level or inside sh()".into());
        }
        let key = parse_key(arg, Ctx::P2wpkh, network).map_err(|m| format!("wpkh(): {m}"))?;
        return p2wpkh(&key);
    }
    if let Some(mut arg) = func("sh", e) {
        if !top {
            return Err("Can only have sh() at top level".into());
        }
        let inner = parse_script(&mut arg, Ctx::P2sh, network)?;
        if !arg.is_empty() {
            return Err(String::new());
        }
        return Ok(ScriptBuf::new_p2sh(&inner.script_hash()));
    }
    if let Some(arg) = func("addr", e) {
        if !top {
            return Err("Can only have addr() at top level".into());
        }
        return decode_address(arg, network).ok_or_else(|| "Address is not valid".into());
    }
    if let Some(arg) = func("tr", e) {
        if !top {
            return Err("Can only have tr at top level".into());
        }
        if arg.contains(',') {
            return Err("tr(): weft's generate RPCs take a key-path-only tr(KEY) descriptor".into());
        }
        let key = parse_key(arg, Ctx::P2tr, network).map_err(|m| format!("tr(): {m}"))?;
        return Ok(ScriptBuf::new_p2tr(&Secp256k1::verification_only(), key.xonly()?, None));
    }
    if let Some(arg) = func("rawtr", e) {
        if !top {
            return Err("Can only have rawtr at top level".into());
        }
        let key = parse_key(arg, Ctx::P2tr, network).map_err(|m| format!("rawtr(): {m}"))?;
        return Ok(ScriptBuf::new_p2tr_tweaked(TweakedPublicKey::dangerous_assume_tweaked(
            key.xonly()?,
        )));
    }
    if let Some(arg) = func("raw", e) {
        if !top {
            return Err("Can only have raw() at top level".into());
        }
        return match hex::decode(arg) {
            Ok(bytes) if !arg.is_empty() => Ok(ScriptBuf::from_bytes(bytes)),
            _ => Err("Raw script is not hex".into()),
        };
    }
    for name in ["multi", "sortedmulti", "multi_a", "sortedmulti_a", "wsh"] {
        if func(name, e).is_some() {
            return Err(format!("{name}(): not supported by weft's generate RPCs"));
        }
    }
    if ctx == Ctx::P2sh {
        return Err("A function is needed within P2SH".into());
    }
    Err(format!("'{e}' is not a valid descriptor function"))
}

fn push_bytes(bytes: &[u8]) -> Result<&bitcoin::script::PushBytes, String> {
    <&bitcoin::script::PushBytes>::try_from(bytes).map_err(|_| "Pubkey is invalid".to_string())
}

fn p2pkh(key: &Key) -> ScriptBuf {
    ScriptBuf::new_p2pkh(&PubkeyHash::from_raw_hash(bitcoin::hashes::hash160::Hash::hash(
        &key.bytes,
    )))
}

fn p2wpkh(key: &Key) -> Result<ScriptBuf, String> {
    let pk =
        CompressedPublicKey::from_slice(&key.bytes).map_err(|_| "Uncompressed keys are not allowed".to_string())?;
    Ok(ScriptBuf::new_p2wpkh(&pk.wpubkey_hash()))
}

/// Core's `DecodeDestination` + `GetScriptForDestination` for `network`.
pub fn decode_address(s: &str, network: Network) -> Option<ScriptBuf> {
    let addr: Address<_> = s.parse().ok()?;
    addr.require_network(network).ok().map(|a| a.script_pubkey())
}

/// Core's `ParsePubkey` for a constant key, with an optional `[fingerprint/path]` origin.
fn parse_key(s: &str, ctx: Ctx, network: Network) -> Result<Key, String> {
    let parts: Vec<&str> = s.split(']').collect();
    let inner = match parts.as_slice() {
        [k] => *k,
        [origin, k] => {
            let Some(origin) = origin.strip_prefix('[') else {
                let got = origin.chars().next().unwrap_or(']');
                return Err(format!(
                    "Key origin start '[ character expected but not found, got '{got}' instead"
                ));
            };
            let fpr = origin.split('/').next().unwrap_or_default();
            if fpr.len() != 8 {
                return Err(format!(
                    "Fingerprint is not 4 bytes ({} characters instead of 8 characters)",
                    fpr.len()
                ));
            }
            if hex::decode(fpr).is_err() {
                return Err(format!("Fingerprint '{fpr}' is not hex"));
            }
            k
        }
        _ => return Err("Multiple ']' characters found for a single pubkey".into()),
    };
    parse_key_inner(inner, ctx, network)
}

fn parse_key_inner(s: &str, ctx: Ctx, network: Network) -> Result<Key, String> {
    let permit_uncompressed = matches!(ctx, Ctx::Top | Ctx::P2sh);
    if s.is_empty() {
        return Err("No key provided".into());
    }
    if s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return Err(format!("Key '{s}' is invalid due to whitespace"));
    }
    if !s.contains('/') {
        if let Ok(data) = hex::decode(s) {
            let hybrid = data.len() == 65 && matches!(data.first(), Some(6 | 7));
            if hybrid {
                return Err("Hybrid public keys are not allowed".into());
            }
            if SecpPublicKey::from_slice(&data).is_ok() {
                if permit_uncompressed || data.len() == 33 {
                    return Ok(Key { bytes: data });
                }
                return Err("Uncompressed keys are not allowed".into());
            }
            if data.len() == 32 && ctx == Ctx::P2tr && XOnlyPublicKey::from_slice(&data).is_ok() {
                let mut full = vec![0x02];
                full.extend_from_slice(&data);
                return Ok(Key { bytes: full });
            }
            return Err(format!("Pubkey '{s}' is invalid"));
        }
        if let Ok(sk) = PrivateKey::from_wif(s) {
            if sk.network == bitcoin::NetworkKind::from(network) {
                if !permit_uncompressed && !sk.compressed {
                    return Err("Uncompressed keys are not allowed".into());
                }
                let pk = sk.public_key(&Secp256k1::signing_only());
                return Ok(Key { bytes: pk.to_bytes() });
            }
        }
    }
    let head = s.split('/').next().unwrap_or(s);
    if ["xpub", "tpub", "xprv", "tprv"].iter().any(|p| head.starts_with(p)) {
        return Err(format!(
            "key '{head}': extended keys are not supported by weft's generate RPCs"
        ));
    }
    Err(format!("key '{head}' is not valid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";

    fn script(desc: &str) -> Result<String, String> {
        descriptor_script(desc, Network::Regtest).map(|s| hex::encode(s.as_bytes()))
    }

    #[test]
    fn key_descriptors_expand_as_core() {
        // Expected scripts from Core's `deriveaddresses` / `getdescriptorinfo` on regtest.
        assert_eq!(
            script(&format!("wpkh({KEY})")).as_deref(),
            Ok("0014751e76e8199196d454941c45d1b3a323f1433bd6")
        );
        assert_eq!(
            script(&format!("pkh({KEY})")).as_deref(),
            Ok("76a914751e76e8199196d454941c45d1b3a323f1433bd688ac")
        );
        assert_eq!(
            script(&format!("sh(wpkh({KEY}))")).as_deref(),
            Ok("a914bcfeb728b584253d5f3f70bcb780e9ef218a68f487")
        );
        assert_eq!(
            script(&format!("tr({KEY})")).as_deref(),
            Ok("5120da4710964f7852695de2da025290e24af6d8c281de5a0b902b7135fd9fd74d21")
        );
        assert_eq!(script("raw(51)").as_deref(), Ok("51"));
        let checksum = descriptor_checksum("raw(51)").unwrap_or_default();
        assert_eq!(script(&format!("raw(51)#{checksum}")).as_deref(), Ok("51"));
        assert_eq!(
            script("addr(bcrt1qqqqsyqcyq5rqwzqfpg9scrgwpugpzysnard0ew)").as_deref(),
            Ok("0014000102030405060708090a0b0c0d0e0f10111213")
        );
    }

    #[test]
    fn errors_read_as_core() {
        assert_eq!(
            script("raw(51)#aaaa").unwrap_err(),
            "Expected 8 character checksum, not 4 characters"
        );
        assert!(script("raw(51)#qqqqqqqq")
            .unwrap_err()
            .starts_with("Provided checksum 'qqqqqqqq' does not match computed checksum"));
        assert_eq!(script("raw(51)#a#b").unwrap_err(), "Multiple '#' symbols");
        assert_eq!(script("raw(zz)").unwrap_err(), "Raw script is not hex");
        assert_eq!(
            script("addr(1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2)").unwrap_err(),
            "Address is not valid"
        );
        assert_eq!(
            script("foo(1)").unwrap_err(),
            "'foo(1)' is not a valid descriptor function"
        );
        assert_eq!(script("pkh(02aa)").unwrap_err(), "pkh(): Pubkey '02aa' is invalid");
        assert_eq!(
            script("wpkh(0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8)").unwrap_err(),
            "wpkh(): Uncompressed keys are not allowed"
        );
        assert_eq!(script("sh(raw(51))").unwrap_err(), "Can only have raw() at top level");
    }
}
