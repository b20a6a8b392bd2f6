//! Numbers as Core prints them: amounts with exactly eight decimals, doubles as `%.16g`.
//!
//! Both rely on serde_json's `arbitrary_precision`: the number keeps the text built here, so
//! `50.00000000` does not collapse to `50.0` on the way out.

use serde_json::{Number, Value};

/// Satoshis in one bitcoin.
const COIN: i64 = 100_000_000;

/// A JSON number holding exactly `text`; `text` must already be valid JSON number syntax.
fn number(text: &str) -> Value {
    // Parsing (rather than building) is the only public way to keep the text verbatim.
    text.parse::<Number>().map(Value::Number).unwrap_or(Value::Null)
}

/// Core's `ValueFromAmount`: BTC with exactly eight decimals, e.g. `-0.00001000`.
pub fn amount(sats: i64) -> Value {
    // unsigned_abs keeps i64::MIN printable, where negating would overflow.
    let abs = sats.unsigned_abs();
    let coin = COIN.unsigned_abs();
    let sign = if sats < 0 { "-" } else { "" };
    number(&format!("{sign}{}.{:08}", abs / coin, abs % coin))
}

/// Core's UniValue double (`std::setprecision(16)`, i.e. `%.16g`); non-finite values are `null`.
pub fn double(v: f64) -> Value {
    if !v.is_finite() {
        // Core would print `nan`/`inf`, which is not JSON; nothing sane can match it.
        return Value::Null;
    }
    number(&format_g16(v))
}

/// Core's `GetDifficulty` for a header's compact target.
pub fn difficulty(bits: u32) -> f64 {
    let mut shift = (bits >> 24) & 0xff;
    let mut diff = f64::from(0x0000_ffff_u32) / f64::from(bits & 0x00ff_ffff);
    while shift < 29 {
        diff *= 256.0;
        shift += 1;
    }
    while shift > 29 {
        diff /= 256.0;
        shift -= 1;
    }
    diff
}

/// `%.16g` of a finite double.
fn format_g16(v: f64) -> String {
    const PRECISION: i32 = 16;
    // %g picks fixed or scientific from the exponent *after* rounding to 16 digits,
    // which is what the `{:.15e}` rendering gives.
    let sci = format!("{:.*e}", (PRECISION - 1) as usize, v);
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    if !(-4..PRECISION).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip_zeros(mantissa), exp.unsigned_abs())
    } else {
        let decimals = (PRECISION - 1 - exp) as usize;
        strip_zeros(&format!("{v:.decimals$}")).to_string()
    }
}

/// Drops trailing fractional zeros and a bare trailing point, as `%g` does without `#`.
fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Core's `AmountFromValue` text rule (`ParseFixedPoint` with 8 decimals): a decimal
/// BTC amount, optionally with an exponent, in satoshis; `None` if malformed, finer than
/// a satoshi, or out of range.
pub fn parse_btc(text: &str) -> Option<i64> {
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (neg, digits) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty() || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    // All digits as one integer, scaled so that 10^8 is one BTC.
    let all: String = int.chars().chain(frac.chars()).collect();
    let scale = 8 + exp - frac.len() as i32;
    let trimmed = all.trim_start_matches('0');
    if trimmed.len() > 18 {
        return None;
    }
    let mut v: i128 = if trimmed.is_empty() { 0 } else { trimmed.parse().ok()? };
    if scale >= 0 {
        if scale > 18 {
            return (v == 0).then_some(0);
        }
        v = v.checked_mul(10i128.pow(scale as u32))?;
    } else {
        let div = 10i128.checked_pow((-scale) as u32)?;
        if v % div != 0 {
            return None;
        }
        v /= div;
    }
    let v = i64::try_from(v).ok()?;
    if v > crate::chain::tx_check::MAX_MONEY {
        return None;
    }
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_btc_amounts() {
        use super::parse_btc;
        assert_eq!(parse_btc("0.1"), Some(10_000_000));
        assert_eq!(parse_btc("1e-5"), Some(1_000));
        assert_eq!(parse_btc("0.00000001"), Some(1));
        assert_eq!(parse_btc("0.000000001"), None);
        assert_eq!(parse_btc("21000001"), None);
        assert_eq!(parse_btc("-0.5"), Some(-50_000_000));
        assert_eq!(parse_btc("abc"), None);
        assert_eq!(parse_btc(""), None);
    }

    use super::*;

    fn text(v: Value) -> String {
        serde_json::to_string(&v).unwrap_or_default()
    }

    #[test]
    fn amounts_have_eight_decimals() {
        assert_eq!(text(amount(50 * COIN)), "50.00000000");
        assert_eq!(text(amount(-1000)), "-0.00001000");
        assert_eq!(text(amount(0)), "0.00000000");
        assert_eq!(text(amount(1)), "0.00000001");
        assert_eq!(text(amount(-COIN)), "-1.00000000");
        assert_eq!(text(amount(2_099_999_997_690_000)), "20999999.97690000");
        assert_eq!(text(amount(i64::MIN)), "-92233720368.54775808");
        assert_eq!(text(amount(i64::MAX)), "92233720368.54775807");
    }

    #[test]
    fn amounts_are_numbers_inside_objects() {
        let v = serde_json::json!({ "value": amount(12_345), "n": 0 });
        assert_eq!(text(v), r#"{"value":0.00012345,"n":0}"#);
    }

    #[test]
    fn doubles_match_printf_g16() {
        // Expected strings from Python's `'%.16g' % v` (C printf semantics).
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (4.656542373906925e-10, "4.656542373906925e-10"),
            (0.5, "0.5"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000"),
            (123456789012345678.0, "1.234567890123457e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.0 / 3.0, "0.3333333333333333"),
            (2.0 / 3.0, "0.6666666666666666"),
            (100.0, "100"),
            (1e21, "1e+21"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (9999999999999999.0, "1e+16"),
            (5e-324, "4.940656458412465e-324"),
            (f64::MAX, "1.797693134862316e+308"),
            (9007199254740992.0, "9007199254740992"),
            (0.0, "0"),
            (-0.0, "-0"),
        ];
        for &(v, want) in cases {
            assert_eq!(text(double(v)), want, "{v:e}");
        }
        assert_eq!(text(double(f64::NAN)), "null");
    }

    #[test]
    fn difficulty_matches_core() {
        // Core's regtest genesis: "difficulty": 4.656542373906925e-10.
        assert_eq!(text(double(difficulty(0x207f_ffff))), "4.656542373906925e-10");
        // Mainnet genesis difficulty is exactly 1.
        assert_eq!(text(double(difficulty(0x1d00_ffff))), "1");
        // Mainnet block 100000 (bits 1b04864c): Core prints 14484.1623612254.
        assert_eq!(text(double(difficulty(0x1b04_864c))), "14484.1623612254");
    }
}
