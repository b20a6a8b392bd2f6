"""Inbound eviction (after Core's p2p_eviction) and discouraged peers at the slot limit.

All connections live in one asyncio loop. Each peer has its own /16 (127.N.0.1), so
every peer is its own network group on a node run with -allowlocaladdrs.
"""

import asyncio
import json
import sys
import time

from bitcoin.core import COutPoint, CBlock, CMutableTransaction, CTransaction, CTxIn, CTxOut, lx, x
from bitcoin.core.script import OP_TRUE, CScript
from bitcoin.messages import msg_block, msg_tx

from .invalid import many_inv
from .wire import PROTOCOL, Peer, grind


def build_block(prev, height, when, tag):
    """A regtest block on `prev` with only a coinbase (BIP34 height, zero-value output)."""
    cb = CMutableTransaction(
        [CTxIn(COutPoint(), CScript([height, b"hostile", tag]), 0xFFFFFFFF)],
        [CTxOut(0, CScript([OP_TRUE]))],
    )
    cb = CTransaction.from_tx(cb)
    hdr = grind({"nVersion": 0x20000000, "hashPrevBlock": prev,
                 "hashMerkleRoot": cb.GetTxid(), "nTime": when})
    return CBlock(nVersion=hdr.nVersion, hashPrevBlock=prev, hashMerkleRoot=hdr.hashMerkleRoot,
                  nTime=when, nBits=hdr.nBits, nNonce=hdr.nNonce, vtx=[cb])


async def connect_all(host, port, groups, pong_delay):
    async def one(g):
        p = await Peer.connect(host, port, source=f"127.{g}.0.1")
        p.pong_delay = pong_delay
        if not await p.handshake():
            raise RuntimeError(f"127.{g}.0.1: handshake failed")
        return p

    out = []
    for i in range(0, len(groups), 10):
        out += await asyncio.gather(*(one(g) for g in groups[i:i + 10]))
    return out


def announced(peers, h):
    return any(h in payload for p in peers for cmd, payload in p.seen if cmd in ("inv", "headers"))


async def wait_until(cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        await asyncio.sleep(0.05)
    return False


async def read_line():
    return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


async def eviction(host, port, args):
    """args: a JSON file with the node's tip ("tip", "height", "time") and four
    transactions ("txs", hex) that spend mature outputs."""
    with open(args[0]) as f:
        cfg = json.load(f)
    slots = int(cfg.get("slots", 114))
    extra = int(cfg.get("extra", 16))
    # The protected peers connect last, so uptime alone would not save them.
    plain = await connect_all(host, port, list(range(1, slots - 15)), 2.0)
    base = slots - 15
    blocks = await connect_all(host, port, list(range(base, base + 4)), 2.0)
    txs = await connect_all(host, port, list(range(base + 4, base + 8)), 2.0)
    fast = await connect_all(host, port, list(range(base + 8, base + 16)), 0.0)
    everyone = plain + blocks + txs + fast
    # Every peer has had a ping answered (the slow ones 2 s late), so min ping is known.
    ok = await wait_until(lambda: all(any(c == "ping" for c, _ in p.seen) for p in everyone), 30)
    if not ok:
        raise RuntimeError("the node did not ping every peer")
    await asyncio.sleep(2.5)

    prev, height, when = lx(cfg["tip"]), cfg["height"], cfg["time"]
    for i, p in enumerate(blocks):
        b = build_block(prev, height + 1 + i, when + 1 + i, bytes([i]))
        p.send(_block_msg(b))
        await p.drain()
        if not await wait_until(lambda: announced(plain, b.GetHash()), 20):
            raise RuntimeError(f"block {i} was not accepted")
        prev = b.GetHash()
    for p, hx in zip(txs, cfg["txs"]):
        m = msg_tx(PROTOCOL)
        m.tx = CTransaction.deserialize(x(hx))
        p.send(m)
        await p.drain()
    print(json.dumps({"stage": "protected"}), flush=True)
    await read_line()

    newcomers = []
    for g in range(slots + 1, slots + 1 + extra):
        newcomers += await connect_all(host, port, [g], 2.0)
        # Let the eviction's disconnect reach us before the next newcomer.
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)
    report = {
        "evicted": sum(p.closed for p in everyone + newcomers),
        "alive": sum(not p.closed for p in everyone + newcomers),
        "block_peers_alive": sum(not p.closed for p in blocks),
        "tx_peers_alive": sum(not p.closed for p in txs),
        "fast_ping_peers_alive": sum(not p.closed for p in fast),
        "plain_alive": sum(not p.closed for p in plain),
        "newcomers_alive": sum(not p.closed for p in newcomers),
        "protected_addrs": [f"127.{g}.0.1" for g in range(base, base + 16)],
        "evicted_addrs": [p.name for p in everyone + newcomers if p.closed],
    }
    print(json.dumps(report), flush=True)
    await read_line()
    return report


def _block_msg(b):
    m = msg_block(PROTOCOL)
    m.block = b
    return m


async def discouraged(host, port, args):
    """args: inbound slots. Gets `slots + 2` addresses discouraged (each sends an
    oversized inv), brings them all back, then two clean peers."""
    slots = int(args[0])
    bad = [f"127.{60 + i}.0.1" for i in range(slots + 2)]
    for src in bad:
        p = await Peer.connect(host, port, source=src)
        await p.handshake()
        p.send(many_inv(50_001))
        await p.drain()
        if not await p.wait_closed(15):
            raise RuntimeError(f"{src} was not dropped for 50,001 inv entries")
    back = []
    refused = 0
    for src in bad:
        p = await Peer.connect(host, port, source=src)
        if await p.handshake():
            back.append(p)
        else:
            refused += 1
    await asyncio.sleep(0.5)
    clean = []
    for g in (150, 151):
        p = await Peer.connect(host, port, source=f"127.{g}.0.1")
        clean.append(p if await p.handshake() else None)
    await asyncio.sleep(1.0)
    report = {
        "discouraged_admitted": len(back),
        "discouraged_refused": refused,
        "discouraged_alive": sum(not p.closed for p in back),
        "clean_admitted": sum(1 for p in clean if p is not None and not p.closed),
    }
    print(json.dumps(report), flush=True)
    await read_line()
    return report
