//! Per-network constants: magic, ports, data-dir names, and Core's consensus parameters
//! (`kernel/chainparams.cpp`, Bitcoin Core v30 values).

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version};
use bitcoin::hashes::Hash;
use bitcoin::pow::{CompactTarget, Target, Work};
use bitcoin::transaction;
use bitcoin::{
    Amount, Block, BlockHash, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxMerkleNode, TxOut, Witness,
};

/// The networks weft knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Chain {
    /// Bitcoin mainnet.
    Main,
    /// testnet3.
    Testnet,
    /// testnet4 (BIP94).
    Testnet4,
    /// The default signet.
    Signet,
    /// Local regression-test network.
    Regtest,
}

impl Chain {
    /// Network magic (Core's `pchMessageStart`).
    pub fn magic(self) -> [u8; 4] {
        match self {
            Chain::Main => [0xf9, 0xbe, 0xb4, 0xd9],
            Chain::Testnet => [0x0b, 0x11, 0x09, 0x07],
            Chain::Testnet4 => [0x1c, 0x16, 0x3f, 0x28],
            Chain::Signet => [0x0a, 0x03, 0xcf, 0x40],
            Chain::Regtest => [0xfa, 0xbf, 0xb5, 0xda],
        }
    }

    /// Default P2P port.
    pub fn default_port(self) -> u16 {
        match self {
            Chain::Main => 8333,
            Chain::Testnet => 18333,
            Chain::Testnet4 => 48333,
            Chain::Signet => 38333,
            Chain::Regtest => 18444,
        }
    }

    /// Core's default RPC port for this chain.
    pub fn default_rpc_port(self) -> u16 {
        match self {
            Chain::Main => 8332,
            Chain::Testnet => 18332,
            Chain::Testnet4 => 48332,
            Chain::Signet => 38332,
            Chain::Regtest => 18443,
        }
    }

    /// Sub-directory of the data dir, as Core names it (mainnet uses the top level).
    pub fn data_subdir(self) -> Option<&'static str> {
        match self {
            Chain::Main => None,
            Chain::Testnet => Some("testnet3"),
            Chain::Testnet4 => Some("testnet4"),
            Chain::Signet => Some("signet"),
            Chain::Regtest => Some("regtest"),
        }
    }

    /// The `bitcoin` crate's network, for address encoding.
    pub fn network(self) -> bitcoin::Network {
        match self {
            Chain::Main => bitcoin::Network::Bitcoin,
            Chain::Testnet => bitcoin::Network::Testnet,
            Chain::Testnet4 => bitcoin::Network::Testnet4,
            Chain::Signet => bitcoin::Network::Signet,
            Chain::Regtest => bitcoin::Network::Regtest,
        }
    }

    /// Core's `-chain` name.
    pub fn name(self) -> &'static str {
        match self {
            Chain::Main => "main",
            Chain::Testnet => "test",
            Chain::Testnet4 => "testnet4",
            Chain::Signet => "signet",
            Chain::Regtest => "regtest",
        }
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Chain {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "main" | "mainnet" => Ok(Chain::Main),
            "test" | "testnet" | "testnet3" => Ok(Chain::Testnet),
            "testnet4" => Ok(Chain::Testnet4),
            "signet" => Ok(Chain::Signet),
            "regtest" => Ok(Chain::Regtest),
            other => Err(format!("Invalid chain type {other}")),
        }
    }
}

/// Core's `SCRIPT_VERIFY_NONE`: a script-flag exception that verifies no soft-fork rule.
pub const SCRIPT_VERIFY_NONE: u32 = 0;
/// Core's `SCRIPT_VERIFY_P2SH` (also libbitcoinconsensus' bit 0).
pub const SCRIPT_VERIFY_P2SH: u32 = 1 << 0;
/// Core's `SCRIPT_VERIFY_WITNESS` (also libbitcoinconsensus' bit 11).
pub const SCRIPT_VERIFY_WITNESS: u32 = 1 << 11;

/// Blocks a coinbase output must wait before it can be spent (Core's `COINBASE_MATURITY`).
pub const COINBASE_MATURITY: u32 = 100;

/// From this height on, BIP34 makes duplicate coinbases impossible, except for a handful of
/// pre-BIP34 coinbases whose height-looking script could repeat here, so Core re-enables the
/// BIP30 check from it (Core's `BIP34_IMPLIES_BIP30_LIMIT`, a constant for every chain).
pub const BIP34_IMPLIES_BIP30_LIMIT: u32 = 1_983_702;

/// Consensus parameters of one chain, as Core's `CChainParams` + `Consensus::Params`.
#[derive(Debug)]
pub struct ChainParams {
    /// Which network these are.
    pub chain: Chain,
    /// Hash of the genesis block (checked against `genesis_block()` in tests).
    pub genesis_hash: BlockHash,
    /// Easiest allowed target (Core's `powLimit`).
    pub pow_limit: Target,
    /// Intended seconds between blocks (`nPowTargetSpacing`).
    pub pow_target_spacing: u32,
    /// Seconds one retarget period should take (`nPowTargetTimespan`; regtest: one day).
    pub pow_target_timespan: u32,
    /// testnet's 20-minute rule (`fPowAllowMinDifficultyBlocks`).
    pub allow_min_difficulty_blocks: bool,
    /// Keep the previous bits at retarget heights (`fPowNoRetargeting`, regtest).
    pub no_retargeting: bool,
    /// BIP94 (testnet4): retarget from the period's first bits, and the time-warp rule.
    pub enforce_bip94: bool,
    /// Blocks between subsidy halvings.
    pub subsidy_halving_interval: u32,
    /// First height with BIP34 (height in coinbase) and version >= 2.
    pub bip34_height: u32,
    /// Hash of the block at `bip34_height`, where Core knows it.
    pub bip34_hash: Option<BlockHash>,
    /// First height with BIP65 (CLTV) and version >= 4.
    pub bip65_height: u32,
    /// First height with BIP66 (strict DER) and version >= 3.
    pub bip66_height: u32,
    /// First height with BIP68/112/113 (CSV).
    pub csv_height: u32,
    /// First height with segwit (BIP141/143/147).
    pub segwit_height: u32,
    /// First height with taproot (BIP341/342) as Core's deployment state has it.
    pub taproot_height: u32,
    /// Blocks that verify with other script flags than their height implies.
    pub script_flag_exceptions: Vec<(BlockHash, u32)>,
    /// Headers-chain work below which Core does not leave initial block download.
    pub minimum_chain_work: Work,
    /// Core's default `-assumevalid` block.
    pub assume_valid: Option<BlockHash>,
    /// Blocks before a coinbase output is spendable.
    pub coinbase_maturity: u32,
    /// The signet block challenge (BIP325), on signet only.
    pub signet_challenge: Option<ScriptBuf>,
    /// The two blocks whose coinbases repeat earlier ones (Core's `IsBIP30Repeat`).
    pub bip30_repeats: Vec<(u32, BlockHash)>,
    /// The two blocks whose coinbases were overwritten (Core's `IsBIP30Unspendable`).
    pub bip30_unspendable: Vec<(u32, BlockHash)>,
    genesis: GenesisSpec,
}

/// What differs between the chains' genesis blocks.
#[derive(Debug, Clone, Copy)]
struct GenesisSpec {
    message: &'static str,
    pubkey: &'static [u8],
    time: u32,
    nonce: u32,
    bits: u32,
}

impl ChainParams {
    /// Blocks in one retarget period (2016; regtest 144).
    pub fn difficulty_adjustment_interval(&self) -> u32 {
        self.pow_target_timespan / self.pow_target_spacing
    }

    /// `pow_limit` in compact form, the bits of a minimum-difficulty block.
    pub fn pow_limit_bits(&self) -> CompactTarget {
        self.pow_limit.to_compact_lossy()
    }

    /// The script flags Core uses for this block instead of the height-derived ones.
    pub fn script_flag_exception(&self, hash: &BlockHash) -> Option<u32> {
        self.script_flag_exceptions
            .iter()
            .find(|(h, _)| h == hash)
            .map(|(_, flags)| *flags)
    }

    /// Core's `IsBIP30Repeat`: this block is exempt from the BIP30 duplicate check.
    pub fn is_bip30_repeat(&self, height: u32, hash: &BlockHash) -> bool {
        self.bip30_repeats.iter().any(|(h, b)| *h == height && b == hash)
    }

    /// Core's `IsBIP30Unspendable`: this block's coinbase was overwritten by a repeat.
    pub fn is_bip30_unspendable(&self, height: u32, hash: &BlockHash) -> bool {
        self.bip30_unspendable.iter().any(|(h, b)| *h == height && b == hash)
    }

    /// Builds the genesis block the way Core's `CreateGenesisBlock` does.
    pub fn genesis_block(&self) -> Block {
        let g = self.genesis;
        // scriptSig: push(486604799 as 4-byte script number), push([4]), push(message).
        let mut sig = vec![0x04, 0xff, 0xff, 0x00, 0x1d, 0x01, 0x04];
        push_data(&mut sig, g.message.as_bytes());
        let mut spk = Vec::with_capacity(g.pubkey.len() + 2);
        push_data(&mut spk, g.pubkey);
        spk.push(0xac); // OP_CHECKSIG
        let tx = Transaction {
            version: transaction::Version::ONE,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                script_sig: ScriptBuf::from_bytes(sig),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: Amount::from_sat(50 * 100_000_000),
                script_pubkey: ScriptBuf::from_bytes(spk),
            }],
        };
        let header = Header {
            version: Version::ONE,
            prev_blockhash: BlockHash::all_zeros(),
            merkle_root: TxMerkleNode::from_raw_hash(tx.compute_txid().to_raw_hash()),
            time: g.time,
            bits: CompactTarget::from_consensus(g.bits),
            nonce: g.nonce,
        };
        Block {
            header,
            txdata: vec![tx],
        }
    }
}

/// Appends a push of `data` with the shortest opcode, as Core's `CScript << vector` does.
fn push_data(script: &mut Vec<u8>, data: &[u8]) {
    let n = data.len();
    if let Ok(small @ 0..=75) = u8::try_from(n) {
        script.push(small); // OP_PUSHBYTES_n
    } else if let Ok(len) = u8::try_from(n) {
        script.extend_from_slice(&[0x4c, len]); // OP_PUSHDATA1
    } else if let Ok(len) = u16::try_from(n) {
        script.push(0x4d); // OP_PUSHDATA2
        script.extend_from_slice(&len.to_le_bytes());
    } else {
        script.push(0x4e); // OP_PUSHDATA4
        script.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
    }
    script.extend_from_slice(data);
}

/// The parameters of `chain`, built once.
pub fn params(chain: Chain) -> &'static ChainParams {
    match chain {
        Chain::Main => &MAIN,
        Chain::Testnet => &TESTNET,
        Chain::Testnet4 => &TESTNET4,
        Chain::Signet => &SIGNET,
        Chain::Regtest => &REGTEST,
    }
}

impl Chain {
    /// This chain's consensus parameters.
    pub fn params(self) -> &'static ChainParams {
        params(self)
    }
}

/// Decodes hex at compile time; a malformed constant fails the build.
const fn hex_bytes<const N: usize>(s: &str) -> [u8; N] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("bad hex digit"),
        }
    }
    let b = s.as_bytes();
    assert!(b.len() == 2 * N, "hex length");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = nibble(b[2 * i]) << 4 | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

/// A hash written the way Core writes `uint256{"..."}` (display order, reversed in memory).
const fn display_hash(s: &str) -> [u8; 32] {
    let mut b: [u8; 32] = hex_bytes(s);
    let mut i = 0;
    while i < 16 {
        let t = b[i];
        b[i] = b[31 - i];
        b[31 - i] = t;
        i += 1;
    }
    b
}

fn hash(display: [u8; 32]) -> BlockHash {
    BlockHash::from_byte_array(display)
}

const SATOSHI_PUBKEY: [u8; 65] = hex_bytes(
    "04678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5f",
);
const TESTNET4_PUBKEY: [u8; 33] = [0u8; 33];
const TIMES_MESSAGE: &str = "The Times 03/Jan/2009 Chancellor on brink of second bailout for banks";
const TESTNET4_MESSAGE: &str = "03/May/2024 000000000000000000001ebd58c244970b3aa9d783bb001011fbe8ea8e98e00e";
const SIGNET_CHALLENGE: [u8; 71] = hex_bytes(
    "512103ad5e0edad18cb1f0fc0d28a3d4f1f3e445640337489abb10404f2d1e086be430210359ef5021964fe22d6f8e05b2463c9540ce96883fe3b278760f048f5189f2e6c452ae",
);
const POW_LIMIT_MAIN: [u8; 32] = hex_bytes("00000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
const TWO_WEEKS: u32 = 14 * 24 * 60 * 60;

static MAIN: LazyLock<ChainParams> = LazyLock::new(|| ChainParams {
    chain: Chain::Main,
    genesis_hash: hash(display_hash(
        "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
    )),
    pow_limit: Target::from_be_bytes(POW_LIMIT_MAIN),
    pow_target_spacing: 600,
    pow_target_timespan: TWO_WEEKS,
    allow_min_difficulty_blocks: false,
    no_retargeting: false,
    enforce_bip94: false,
    subsidy_halving_interval: 210_000,
    bip34_height: 227_931,
    bip34_hash: Some(hash(display_hash(
        "000000000000024b89b42a942fe0d9fea3bb44ab7bd1b19115dd6a759c0808b8",
    ))),
    bip65_height: 388_381,
    bip66_height: 363_725,
    csv_height: 419_328,
    segwit_height: 481_824,
    taproot_height: 709_632,
    script_flag_exceptions: vec![
        (
            // BIP16 exception
            hash(display_hash(
                "00000000000002dc756eebf4f49723ed8d30cc28a5f108eb94b1ba88ac4f9c22",
            )),
            SCRIPT_VERIFY_NONE,
        ),
        (
            // Taproot exception
            hash(display_hash(
                "0000000000000000000f14c35b2d841e986ab5441de8c585d5ffe55ea1e395ad",
            )),
            SCRIPT_VERIFY_P2SH | SCRIPT_VERIFY_WITNESS,
        ),
    ],
    minimum_chain_work: Work::from_be_bytes(hex_bytes(
        "0000000000000000000000000000000000000000dee8e2a309ad8a9820433c68",
    )),
    assume_valid: Some(hash(display_hash(
        "00000000000000000000611fd22f2df7c8fbd0688745c3a6c3bb5109cc2a12cb",
    ))),
    coinbase_maturity: COINBASE_MATURITY,
    signet_challenge: None,
    bip30_repeats: vec![
        (
            91_842,
            hash(display_hash(
                "00000000000a4d0a398161ffc163c503763b1f4360639393e0e4c8e300e0caec",
            )),
        ),
        (
            91_880,
            hash(display_hash(
                "00000000000743f190a18c5577a3c2d2a1f610ae9601ac046a38084ccb7cd721",
            )),
        ),
    ],
    bip30_unspendable: vec![
        (
            91_722,
            hash(display_hash(
                "00000000000271a2dc26e7667f8419f2e15416dc6955e5a6c6cdf3f2574dd08e",
            )),
        ),
        (
            91_812,
            hash(display_hash(
                "00000000000af0aed4792b1acee3d966af36cf5def14935db8de83d6f9306f2f",
            )),
        ),
    ],
    genesis: GenesisSpec {
        message: TIMES_MESSAGE,
        pubkey: &SATOSHI_PUBKEY,
        time: 1_231_006_505,
        nonce: 2_083_236_893,
        bits: 0x1d00ffff,
    },
});

static TESTNET: LazyLock<ChainParams> = LazyLock::new(|| ChainParams {
    chain: Chain::Testnet,
    genesis_hash: hash(display_hash(
        "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
    )),
    pow_limit: Target::from_be_bytes(POW_LIMIT_MAIN),
    pow_target_spacing: 600,
    pow_target_timespan: TWO_WEEKS,
    allow_min_difficulty_blocks: true,
    no_retargeting: false,
    enforce_bip94: false,
    subsidy_halving_interval: 210_000,
    bip34_height: 21_111,
    bip34_hash: Some(hash(display_hash(
        "0000000023b3a96d3484e5abb3755c413e7d41500f8e2a5c3f0dd01299cd8ef8",
    ))),
    bip65_height: 581_885,
    bip66_height: 330_776,
    csv_height: 770_112,
    segwit_height: 834_624,
    // Core decides testnet3's taproot by BIP9 state (no min height); it went active here.
    taproot_height: 2_011_968,
    script_flag_exceptions: vec![(
        // BIP16 exception
        hash(display_hash(
            "00000000dd30457c001f4095d208cc1296b0eed002427aa599874af7a432b105",
        )),
        SCRIPT_VERIFY_NONE,
    )],
    minimum_chain_work: Work::from_be_bytes(hex_bytes(
        "0000000000000000000000000000000000000000000016dd270dd94fac1d7632",
    )),
    assume_valid: Some(hash(display_hash(
        "0000000000000065c6c38258e201971a3fdfcc2ceee0dd6e85a6c022d45dee34",
    ))),
    coinbase_maturity: COINBASE_MATURITY,
    signet_challenge: None,
    bip30_repeats: Vec::new(),
    bip30_unspendable: Vec::new(),
    genesis: GenesisSpec {
        message: TIMES_MESSAGE,
        pubkey: &SATOSHI_PUBKEY,
        time: 1_296_688_602,
        nonce: 414_098_458,
        bits: 0x1d00ffff,
    },
});

static TESTNET4: LazyLock<ChainParams> = LazyLock::new(|| ChainParams {
    chain: Chain::Testnet4,
    genesis_hash: hash(display_hash(
        "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043",
    )),
    pow_limit: Target::from_be_bytes(POW_LIMIT_MAIN),
    pow_target_spacing: 600,
    pow_target_timespan: TWO_WEEKS,
    allow_min_difficulty_blocks: true,
    no_retargeting: false,
    enforce_bip94: true,
    subsidy_halving_interval: 210_000,
    bip34_height: 1,
    bip34_hash: None,
    bip65_height: 1,
    bip66_height: 1,
    csv_height: 1,
    segwit_height: 1,
    taproot_height: 0,
    script_flag_exceptions: Vec::new(),
    minimum_chain_work: Work::from_be_bytes(hex_bytes(
        "00000000000000000000000000000000000000000000034a4690fe592dc49c7c",
    )),
    assume_valid: Some(hash(display_hash(
        "000000000000000180a58e7fa3b0db84b5ea76377524894f53660d93ac839d9b",
    ))),
    coinbase_maturity: COINBASE_MATURITY,
    signet_challenge: None,
    bip30_repeats: Vec::new(),
    bip30_unspendable: Vec::new(),
    genesis: GenesisSpec {
        message: TESTNET4_MESSAGE,
        pubkey: &TESTNET4_PUBKEY,
        time: 1_714_777_860,
        nonce: 393_743_547,
        bits: 0x1d00ffff,
    },
});

static SIGNET: LazyLock<ChainParams> = LazyLock::new(|| ChainParams {
    chain: Chain::Signet,
    genesis_hash: hash(display_hash(
        "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6",
    )),
    pow_limit: Target::from_be_bytes(hex_bytes(
        "00000377ae000000000000000000000000000000000000000000000000000000",
    )),
    pow_target_spacing: 600,
    pow_target_timespan: TWO_WEEKS,
    allow_min_difficulty_blocks: false,
    no_retargeting: false,
    enforce_bip94: false,
    subsidy_halving_interval: 210_000,
    bip34_height: 1,
    bip34_hash: None,
    bip65_height: 1,
    bip66_height: 1,
    csv_height: 1,
    segwit_height: 1,
    taproot_height: 0,
    script_flag_exceptions: Vec::new(),
    minimum_chain_work: Work::from_be_bytes(hex_bytes(
        "0000000000000000000000000000000000000000000000000000067d328e681a",
    )),
    assume_valid: Some(hash(display_hash(
        "000000128586e26813922680309f04e1de713c7542fee86ed908f56368aefe2e",
    ))),
    coinbase_maturity: COINBASE_MATURITY,
    signet_challenge: Some(ScriptBuf::from_bytes(SIGNET_CHALLENGE.to_vec())),
    bip30_repeats: Vec::new(),
    bip30_unspendable: Vec::new(),
    genesis: GenesisSpec {
        message: TIMES_MESSAGE,
        pubkey: &SATOSHI_PUBKEY,
        time: 1_598_918_400,
        nonce: 52_613_770,
        bits: 0x1e0377ae,
    },
});

static REGTEST: LazyLock<ChainParams> = LazyLock::new(|| ChainParams {
    chain: Chain::Regtest,
    genesis_hash: hash(display_hash(
        "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
    )),
    pow_limit: Target::from_be_bytes(hex_bytes(
        "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    )),
    pow_target_spacing: 600,
    pow_target_timespan: 24 * 60 * 60,
    allow_min_difficulty_blocks: true,
    no_retargeting: true,
    enforce_bip94: false,
    subsidy_halving_interval: 150,
    bip34_height: 1,
    bip34_hash: None,
    bip65_height: 1,
    bip66_height: 1,
    csv_height: 1,
    segwit_height: 0,
    taproot_height: 0,
    script_flag_exceptions: Vec::new(),
    minimum_chain_work: Work::from_be_bytes([0u8; 32]),
    assume_valid: None,
    coinbase_maturity: COINBASE_MATURITY,
    signet_challenge: None,
    bip30_repeats: Vec::new(),
    bip30_unspendable: Vec::new(),
    genesis: GenesisSpec {
        message: TIMES_MESSAGE,
        pubkey: &SATOSHI_PUBKEY,
        time: 1_296_688_602,
        nonce: 2,
        bits: 0x207fffff,
    },
});
