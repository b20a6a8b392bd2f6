//! Chain parameters, proof of work and header rules against Core's values and a real
//! proof-of-work chain (`../shared/testdata/mainnet-alt-2015.json`).

use std::path::PathBuf;
use std::str::FromStr;

use bitcoin::block::{Header, Version};
use bitcoin::consensus::encode::deserialize_hex;
use bitcoin::hashes::Hash;
use bitcoin::pow::{CompactTarget, Target, Work};
use bitcoin::{Block, BlockHash, TxMerkleNode};
use weft::chain::header::{check_header_context, check_header_pow, HeaderError};
use weft::chain::pow::{
    block_proof, calculate_next_work_required, check_proof_of_work, decode_compact, median_time_past,
    next_work_required, try_next_work_required, AncestorView,
};
use weft::chain::{params, Chain};

/// A chain held in memory; the view's tip is the last element.
struct SliceView<'a>(&'a [Header]);

impl AncestorView for SliceView<'_> {
    fn tip_height(&self) -> u32 {
        u32::try_from(self.0.len().saturating_sub(1)).expect("small test chains")
    }
    fn header_at(&self, height: u32) -> Option<Header> {
        self.0.get(height as usize).copied()
    }
}

fn bits(v: u32) -> CompactTarget {
    CompactTarget::from_consensus(v)
}

fn header(time: u32, b: u32) -> Header {
    Header {
        version: Version::from_consensus(4),
        prev_blockhash: BlockHash::all_zeros(),
        merkle_root: TxMerkleNode::all_zeros(),
        time,
        bits: bits(b),
        nonce: 0,
    }
}

/// Heights 0..n, `spacing` seconds apart, all with nBits `b`.
fn chain_of(n: usize, start: u32, spacing: u32, b: u32) -> Vec<Header> {
    (0..n as u32).map(|i| header(start + i * spacing, b)).collect()
}

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testdata")
        .join(name)
}

#[test]
fn genesis_blocks_match_core() {
    let cases = [
        (
            Chain::Main,
            "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
            "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
        ),
        (
            Chain::Testnet,
            "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
            "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
        ),
        (
            Chain::Testnet4,
            "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043",
            "7aa0a7ae1e223414cb807e40cd57e667b718e42aaf9306db9102fe28912b7b4e",
        ),
        (
            Chain::Signet,
            "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6",
            "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
        ),
        (
            Chain::Regtest,
            "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
            "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
        ),
    ];
    for (chain, hash, merkle) in cases {
        let p = params(chain);
        let g = p.genesis_block();
        assert_eq!(g.block_hash().to_string(), hash, "{chain} genesis hash");
        assert_eq!(g.header.merkle_root.to_string(), merkle, "{chain} merkle root");
        assert!(g.check_merkle_root(), "{chain} merkle root recomputes");
        assert_eq!(p.genesis_hash, g.block_hash(), "{chain} genesis_hash field");
        assert_eq!(p.chain, chain);
        check_header_pow(&g.header, p).expect("genesis meets its own target");
    }
    println!("5 genesis blocks checked");
}

#[test]
fn params_follow_core() {
    let main = params(Chain::Main);
    assert_eq!(main.difficulty_adjustment_interval(), 2016);
    assert_eq!(main.pow_limit_bits().to_consensus(), 0x1d00ffff);
    assert_eq!(params(Chain::Signet).pow_limit_bits().to_consensus(), 0x1e0377ae);
    assert_eq!(params(Chain::Regtest).pow_limit_bits().to_consensus(), 0x207fffff);
    assert_eq!(params(Chain::Regtest).difficulty_adjustment_interval(), 144);
    assert_eq!(params(Chain::Regtest).subsidy_halving_interval, 150);
    assert!(params(Chain::Testnet4).enforce_bip94);
    let taproot_exc =
        BlockHash::from_str("0000000000000000000f14c35b2d841e986ab5441de8c585d5ffe55ea1e395ad").expect("hash");
    assert_eq!(main.script_flag_exception(&taproot_exc), Some(1 | 1 << 11));
    let repeat = BlockHash::from_str("00000000000a4d0a398161ffc163c503763b1f4360639393e0e4c8e300e0caec").expect("hash");
    assert!(main.is_bip30_repeat(91_842, &repeat));
    assert!(!main.is_bip30_repeat(91_843, &repeat));
    assert_eq!(
        params(Chain::Signet).signet_challenge.as_ref().map(|s| s.len()),
        Some(71)
    );
    // Genesis work is 2^256 / (2^224 - 2^208 + 1) = 0x100010001.
    let mut genesis_work = [0u8; 32];
    genesis_work[24..].copy_from_slice(&0x1_0001_0001u64.to_be_bytes());
    assert_eq!(block_proof(bits(0x1d00ffff)), Work::from_be_bytes(genesis_work));
    assert!(main.minimum_chain_work > Work::from_be_bytes(genesis_work));
}

#[test]
fn mainnet_alt_2015_headers_pass_core_rules() {
    let raw = std::fs::read_to_string(testdata("mainnet-alt-2015.json")).expect("testdata");
    let json: serde_json::Value = serde_json::from_str(&raw).expect("json");
    let blocks = json["blocks_hex"].as_array().expect("blocks_hex");
    let p = params(Chain::Main);

    let mut headers = vec![p.genesis_block().header];
    for (i, hex) in blocks.iter().enumerate() {
        let block: Block = deserialize_hex(hex.as_str().expect("hex")).expect("block");
        assert!(block.check_merkle_root(), "merkle root at height {}", i + 1);
        headers.push(block.header);
    }
    assert_eq!(headers.len(), 2016);
    let last_time = headers.last().map(|h| h.time).unwrap_or(0);
    let adjusted_now = u64::from(last_time) + 30 * 24 * 3600;

    let mut work = block_proof(headers[0].bits);
    for height in 1..headers.len() {
        let h = &headers[height];
        let view = SliceView(&headers[..height]);
        assert_eq!(h.prev_blockhash, headers[height - 1].block_hash(), "link {height}");
        check_header_pow(h, p).unwrap_or_else(|e| panic!("pow at {height}: {e}"));
        check_header_context(p, &view, h, adjusted_now).unwrap_or_else(|e| panic!("context at {height}: {e}"));
        work = work + block_proof(h.bits);
    }
    let tip = headers.last().map(Header::block_hash).expect("tip");
    assert_eq!(tip.to_string(), json["tip_hash"].as_str().expect("tip_hash"));

    let next = next_work_required(p, &SliceView(&headers), last_time + 600);
    let want = u32::from_str_radix(json["next_bits"].as_str().expect("next_bits"), 16).expect("hex bits");
    assert_eq!(next.to_consensus(), want);
    assert_eq!(next.to_consensus(), 0x1c3fffc0);
    // 2016 blocks at difficulty 1.
    let mut total = [0u8; 32];
    total[24..].copy_from_slice(&(2016u64 * 0x1_0001_0001).to_be_bytes());
    assert_eq!(work, Work::from_be_bytes(total));
    println!("mainnet-alt-2015: {} headers passed", headers.len() - 1);
}

/// Core's pow_tests.cpp cases for CalculateNextWorkRequired on mainnet.
#[test]
fn core_retarget_vectors() {
    let p = params(Chain::Main);
    let cases = [
        (1_261_130_161, 1_262_152_739, 0x1d00ffff, 0x1d00d86a), // no limits apply
        (1_231_006_505, 1_233_061_996, 0x1d00ffff, 0x1d00ffff), // pow limit caps it
        (1_279_008_237, 1_279_297_671, 0x1c05a3f4, 0x1c0168fd), // fast: x4 difficulty
        (1_263_163_443, 1_269_211_443, 0x1c387f6f, 0x1d00e1fd), // slow: /4 difficulty
    ];
    for (first_time, last_time, last_bits, want) in cases {
        let first = header(first_time, 0);
        let last = header(last_time, last_bits);
        let got = calculate_next_work_required(p, &last, &first);
        assert_eq!(got.to_consensus(), want, "from {last_bits:#x}");
    }
    println!("{} Core retarget vectors", cases.len());
}

#[test]
fn retarget_clamps_and_period_boundaries() {
    let p = params(Chain::Main);
    // 2016 headers (heights 0..=2015): the next block is a retarget.
    for (spacing, want) in [(600, 0x1b040448), (1, 0x1b010132), (6000, 0x1b10132c)] {
        let chain = chain_of(2016, 1_300_000_000, spacing, 0x1b0404cb);
        let got = next_work_required(p, &SliceView(&chain), 1_400_000_000);
        assert_eq!(got.to_consensus(), want, "spacing {spacing}");
    }
    // Inside a period the bits carry over, whatever the times.
    let chain = chain_of(2000, 1_300_000_000, 1, 0x1b0404cb);
    assert_eq!(
        next_work_required(p, &SliceView(&chain), 1_400_000_000).to_consensus(),
        0x1b0404cb
    );
    // Regtest never retargets.
    let r = params(Chain::Regtest);
    let chain = chain_of(144, 1_300_000_000, 1, 0x207fffff);
    assert_eq!(
        next_work_required(r, &SliceView(&chain), 1_300_000_200).to_consensus(),
        0x207fffff
    );
}

#[test]
fn testnet_min_difficulty_walk_back() {
    let p = params(Chain::Testnet);
    let limit = 0x1d00ffff;
    let real = 0x1c0ffff0;
    let start = 1_600_000_000;
    // Heights 0..=2015 at the limit, 2016..=2017 real bits, 2018..=2019 min-difficulty.
    let mut chain = chain_of(2016, start, 600, limit);
    for h in 2016..2020u32 {
        let b = if h < 2018 { real } else { limit };
        chain.push(header(start + h * 600, b));
    }
    let parent_time = chain[2019].time;
    let view = SliceView(&chain);
    // Within 20 minutes: the last block not mined under the exception.
    assert_eq!(next_work_required(p, &view, parent_time + 1200).to_consensus(), real);
    // More than 20 minutes: a minimum-difficulty block.
    assert_eq!(next_work_required(p, &view, parent_time + 1201).to_consensus(), limit);
    // The walk stops at the period's first block even if it is at the limit.
    let mut all_min = chain_of(2020, start, 600, limit);
    all_min[2015].bits = bits(real);
    assert_eq!(
        next_work_required(p, &SliceView(&all_min), parent_time + 60).to_consensus(),
        limit
    );
    // Mainnet has no such exception.
    assert_eq!(
        next_work_required(params(Chain::Main), &view, parent_time + 5000).to_consensus(),
        limit
    );
}

#[test]
fn bip94_retargets_from_first_block_of_period() {
    let start = 1_714_777_860;
    // Period 2016..=4031: first block has real bits, the last a min-difficulty block.
    let mut chain = chain_of(4032, start, 600, 0x1d00ffff);
    chain[2016].bits = bits(0x1c0ffff0);
    let view = SliceView(&chain);
    let t = chain[4031].time + 600;
    assert_eq!(
        next_work_required(params(Chain::Testnet4), &view, t).to_consensus(),
        0x1c0ffde7
    );
    // testnet3 (no BIP94) uses the last block's bits instead.
    assert_eq!(
        next_work_required(params(Chain::Testnet), &view, t).to_consensus(),
        0x1d00ffde
    );
}

#[test]
fn bip94_timewarp_rule() {
    let p = params(Chain::Testnet4);
    let chain = chain_of(2016, 1_714_777_860, 600, 0x1d00ffff);
    let view = SliceView(&chain);
    let prev_time = chain[2015].time;
    let now = u64::from(prev_time) + 3600;
    let mut h = header(prev_time - 601, 0);
    h.bits = next_work_required(p, &view, h.time);
    let err = check_header_context(p, &view, &h, now).expect_err("timewarp");
    assert_eq!(err, HeaderError::TimeWarp);
    assert_eq!(err.reason(), "time-timewarp-attack");
    h.time = prev_time - 600;
    check_header_context(p, &view, &h, now).expect("600 s back is allowed");
    // Not the first block of a period: no time-warp check (time-too-old still applies).
    let short = &chain[..2000];
    let mut h2 = header(short[1999].time - 601, 0x1d00ffff);
    h2.bits = next_work_required(p, &SliceView(short), h2.time);
    check_header_context(p, &SliceView(short), &h2, now).expect("mid-period");
    // Mainnet does not enforce BIP94.
    let mut m = header(prev_time - 601, 0);
    m.bits = next_work_required(params(Chain::Main), &view, m.time);
    check_header_context(params(Chain::Main), &view, &m, now).expect("mainnet");
}

#[test]
fn median_time_past_is_core_median() {
    let times = [5u32, 1, 9, 3];
    let chain: Vec<Header> = times.iter().map(|&t| header(t, 0)).collect();
    assert_eq!(median_time_past(&SliceView(&chain)), 5);
    // Only the last 11 count: 20 headers with times 100..119 reversed -> last 11 are 110..100.
    let chain: Vec<Header> = (0..20u32).rev().map(|t| header(100 + t, 0)).collect();
    assert_eq!(median_time_past(&SliceView(&chain)), 105);
    let chain = vec![header(77, 0)];
    assert_eq!(median_time_past(&SliceView(&chain)), 77);
}

#[test]
fn proof_of_work_edge_cases_like_core() {
    let p = params(Chain::Main);
    let one = BlockHash::from_byte_array({
        let mut b = [0u8; 32];
        b[0] = 1;
        b
    });
    // Negative (sign bit on the pow limit's bits), overflowing, too easy, zero.
    assert!(!check_proof_of_work(one, bits(0x1d80ffff), p.pow_limit));
    assert!(!check_proof_of_work(one, bits(!0x0080_0000), p.pow_limit));
    assert!(!check_proof_of_work(one, bits(0x1d01fffe), p.pow_limit));
    assert!(!check_proof_of_work(one, bits(0), p.pow_limit));
    assert!(check_proof_of_work(one, bits(0x1d00ffff), p.pow_limit));
    // Hash exactly at the target passes; one above (target + 1) fails.
    let target = decode_compact(bits(0x1d00ffff)).target;
    let at = BlockHash::from_byte_array(target.to_le_bytes());
    assert!(check_proof_of_work(at, bits(0x1d00ffff), p.pow_limit));
    let mut le = target.to_le_bytes();
    let mut i = 0;
    loop {
        let (v, c) = le[i].overflowing_add(1);
        le[i] = v;
        if !c {
            break;
        }
        i += 1;
    }
    assert!(!check_proof_of_work(
        BlockHash::from_byte_array(le),
        bits(0x1d00ffff),
        p.pow_limit
    ));
    // Block proof of invalid bits is zero; target 1 is 2^255 as in Core.
    assert_eq!(block_proof(bits(0x1d80ffff)), Work::from_be_bytes([0; 32]));
    assert_eq!(block_proof(bits(0xff123456)), Work::from_be_bytes([0; 32]));
    assert_eq!(block_proof(bits(0)), Work::from_be_bytes([0; 32]));
    let mut half = [0u8; 32];
    half[0] = 0x80;
    assert_eq!(block_proof(bits(0x01010000)), Work::from_be_bytes(half));
    assert_eq!(
        decode_compact(bits(0x01010000)).target,
        Target::from_be_bytes({
            let mut b = [0u8; 32];
            b[31] = 1;
            b
        })
    );
}

/// Headers 0..=1000 of the alternative mainnet chain, for breaking one header at a time.
fn alt_prefix() -> Vec<Header> {
    let raw = std::fs::read_to_string(testdata("mainnet-alt-2015.json")).expect("testdata");
    let json: serde_json::Value = serde_json::from_str(&raw).expect("json");
    let mut headers = vec![params(Chain::Main).genesis_block().header];
    for hex in json["blocks_hex"].as_array().expect("blocks").iter().take(1000) {
        let block: Block = deserialize_hex(hex.as_str().expect("hex")).expect("block");
        headers.push(block.header);
    }
    headers
}

#[test]
fn every_header_error_reason() {
    let p = params(Chain::Main);
    let headers = alt_prefix();
    let (good, prior) = headers.split_last().expect("headers");
    let view = SliceView(prior);
    let now = u64::from(good.time) + 3600;
    check_header_pow(good, p).expect("good pow");
    check_header_context(p, &view, good, now).expect("good context");

    // high-hash: a nonce whose hash misses the target.
    let target = decode_compact(good.bits).target;
    let mut bad = *good;
    loop {
        bad.nonce = bad.nonce.wrapping_add(1);
        if Target::from_le_bytes(bad.block_hash().to_byte_array()) > target {
            break;
        }
    }
    let err = check_header_pow(&bad, p).expect_err("high-hash");
    assert_eq!(err.reason(), "high-hash");
    // ... and nBits easier than the limit, even with a hash that would meet it.
    let mut easy = *good;
    easy.bits = bits(0x1d01fffe);
    assert_eq!(
        check_header_pow(&easy, p).map_err(|e| e.reason()),
        Err("high-hash".into())
    );

    // bad-diffbits: a valid-looking but wrong nBits.
    let mut b = *good;
    b.bits = bits(0x1c3fffc0);
    let err = check_header_context(p, &view, &b, now).expect_err("diffbits");
    assert_eq!(err.reason(), "bad-diffbits");
    assert_eq!(
        err,
        HeaderError::BadDiffBits {
            expected: 0x1d00ffff,
            got: 0x1c3fffc0
        }
    );

    // time-too-old: exactly the median time past; one second later passes.
    let mtp = median_time_past(&view);
    let mut t = *good;
    t.time = mtp;
    assert_eq!(
        check_header_context(p, &view, &t, now).map_err(|e| e.reason()),
        Err("time-too-old".into())
    );
    t.time = mtp + 1;
    check_header_context(p, &view, &t, now).expect("mtp + 1");

    // time-too-new: more than two hours past adjusted time.
    let mut n = *good;
    n.time = u32::try_from(now + 7201).expect("time");
    assert_eq!(
        check_header_context(p, &view, &n, now).map_err(|e| e.reason()),
        Err("time-too-new".into())
    );
    n.time -= 1;
    check_header_context(p, &view, &n, now).expect("exactly two hours ahead");

    // bad-version on regtest, where BIP34/66/65 are active from height 1.
    let r = params(Chain::Regtest);
    let genesis = [r.genesis_block().header];
    let rview = SliceView(&genesis);
    let mut v = header(genesis[0].time + 60, 0x207fffff);
    let rnow = u64::from(v.time);
    for (version, reason) in [
        (1, Some("bad-version(0x00000001)")),
        (2, Some("bad-version(0x00000002)")),
        (3, Some("bad-version(0x00000003)")),
        (-1, Some("bad-version(0xffffffff)")),
        (4, None),
        (0x2000_0000, None),
    ] {
        v.version = Version::from_consensus(version);
        let got = check_header_context(r, &rview, &v, rnow).map_err(|e| e.reason());
        match reason {
            Some(want) => assert_eq!(got, Err(want.to_string()), "version {version}"),
            None => assert_eq!(got, Ok(()), "version {version}"),
        }
    }
    // On mainnet below the BIP34 height, version 1 is fine.
    let mut v1 = *good;
    v1.version = Version::from_consensus(1);
    check_header_context(p, &view, &v1, now).expect("v1 before BIP34");

    // A view that lacks an ancestor is reported, not guessed.
    struct Holey;
    impl AncestorView for Holey {
        fn tip_height(&self) -> u32 {
            5
        }
        fn header_at(&self, _: u32) -> Option<Header> {
            None
        }
    }
    assert_eq!(
        check_header_context(p, &Holey, good, now).map_err(|e| e.reason()),
        Err("prev-blk-not-found".into())
    );
    assert!(try_next_work_required(p, &Holey, 0).is_err());
}
