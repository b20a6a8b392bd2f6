"""Header-tree DoS (after Core's p2p_dos_header_tree) and IBD stalling (p2p_ibd_stalling)."""

import asyncio
import json

import bitcoin
import struct
import time

from bitcoin.core import CBlockHeader, lx

from .wire import PROTOCOL, Peer, grind, headers_payload, parse_headers, varint


def getheaders_payload(locator, stop=b"\x00" * 32):
    return struct.pack("<I", PROTOCOL) + varint(len(locator)) + b"".join(locator) + stop


def parse_locator(payload):
    from .wire import read_varint

    n, off = read_varint(payload, 4)
    return [payload[off + 32 * i:off + 32 * (i + 1)] for i in range(n)]


def fork(prev, start_time, n, tag):
    """`n` regtest headers on `prev` (raw hash bytes), ground to the easy target."""
    out = []
    for i in range(n):
        h = grind({"nVersion": 0x20000000 | tag, "hashPrevBlock": prev,
                   "hashMerkleRoot": struct.pack("<I", tag) * 8, "nTime": start_time + i + 1})
        out.append(h)
        prev = h.GetHash()
    return out


async def punished(host, port, src, send):
    """Runs `send(peer)` on a fresh connection; reports whether the node hung up."""
    p = await Peer.connect(host, port, source=src)
    if not await p.handshake():
        raise RuntimeError(f"{src}: handshake failed")
    await send(p)
    await p.drain()
    t = time.monotonic()
    closed = await p.wait_closed(15)
    return {"disconnected": closed, "secs": round(time.monotonic() - t, 3), "peer": p}


async def header_tree(host, port, args):
    """args: genesis hash, genesis time, tip height. Low-work forks are accepted as
    Core accepts them; invalid headers get the sender dropped."""
    genesis = lx(args[0])
    gtime = int(args[1])
    tip_height = int(args[2])
    out = {}

    # 1. Many short, valid forks off genesis, each with less work than the active chain.
    branch = max(1, tip_height - 1)
    forks = 2_000 // branch + 1
    p = await Peer.connect(host, port, source="127.33.0.1")
    await p.handshake()
    sent = 0
    for f in range(forks):
        hdrs = fork(genesis, gtime + f * 1000, branch, f)
        p.send_cmd("headers", headers_payload(hdrs))
        sent += len(hdrs)
    await p.drain()
    out["low_work_forks"] = {"headers": sent, "forks": forks, "alive": await p.alive(30)}
    p.close()

    # 2. A header with too little proof of work for its own target.
    async def high_hash(p):
        h = CBlockHeader(nVersion=0x20000000, hashPrevBlock=genesis, nTime=gtime + 1, nBits=0x207FFFFF)
        nonce = 0
        while int.from_bytes(h.GetHash(), "little") <= (0x7FFFFF << 8 * 29):
            nonce += 1
            h = CBlockHeader(nVersion=0x20000000, hashPrevBlock=genesis, nTime=gtime + 1,
                             nBits=0x207FFFFF, nNonce=nonce)
        p.send_cmd("headers", headers_payload([h]))

    # 3. Two valid headers that do not chain to each other.
    async def non_continuous(p):
        a = fork(genesis, gtime + 50_000, 1, 901)
        b = fork(genesis, gtime + 60_000, 1, 902)
        p.send_cmd("headers", headers_payload(a + b))

    # 4. A connecting header whose nBits is not what regtest requires.
    async def bad_diffbits(p):
        h = grind({"nVersion": 0x20000000, "hashPrevBlock": genesis,
                   "hashMerkleRoot": b"\x07" * 32, "nTime": gtime + 70_000}, target_bits=0x2000FFFF)
        p.send_cmd("headers", headers_payload([h]))

    # 5. A stream of headers messages whose parents the node has never seen.
    async def unconnecting(p):
        for i in range(12):
            orphan = fork(bytes([i + 1]) * 32, gtime + 80_000 + i * 10, 1, 1000 + i)
            p.send_cmd("headers", headers_payload(orphan))
            await p.drain()
            await asyncio.sleep(0.05)

    for n, (name, attack) in enumerate([("high_hash", high_hash), ("non_continuous", non_continuous),
                                        ("bad_diffbits", bad_diffbits)]):
        r = await punished(host, port, f"127.34.{n}.1", attack)
        r.pop("peer").close()
        out[name] = r

    # Core answers each with `getheaders` and does not punish (BIP 130 races).
    p = await Peer.connect(host, port, source="127.34.3.1")
    await p.handshake()
    await unconnecting(p)
    alive = await p.alive()
    out["unconnecting"] = {"alive": alive, "messages": 12,
                           "getheaders": sum(1 for c, _ in p.seen if c == "getheaders")}
    p.close()
    return out


async def fetch_chain(host, port):
    """Every header of the honest node's chain, asked for over p2p."""
    p = await Peer.connect(host, port, source="127.31.0.1")
    if not await p.handshake():
        raise RuntimeError("honest node: handshake failed")
    chain = []
    locator = [bitcoin.params.GENESIS_BLOCK.GetHash()]
    while True:
        p.send_cmd("getheaders", getheaders_payload(locator))
        await p.drain()
        payload = await p.expect("headers", 30)
        if payload is None:
            raise RuntimeError("honest node sent no headers")
        got = parse_headers(payload)
        chain.extend(got)
        if len(got) < 2000:
            break
        locator = [chain[-1].GetHash()]
    p.close()
    return chain


async def stall(host, port, args):
    """args: honest node host:port. Announces the honest chain to the target, never
    delivers a block, and reports when the target gives up on us."""
    hhost, hport = args[0].rsplit(":", 1)
    chain = await fetch_chain(hhost, int(hport))
    index = {h.GetHash(): i for i, h in enumerate(chain)}
    genesis = bitcoin.params.GENESIS_BLOCK.GetHash()
    p = await Peer.connect(host, port, source="127.32.0.1")
    if not await p.handshake(height=len(chain)):
        raise RuntimeError("target: handshake failed")
    started = time.monotonic()
    requested = 0
    announced = False
    while True:
        try:
            cmd, payload = await asyncio.wait_for(p.inbox.get(), 120)
        except asyncio.TimeoutError:
            break
        if cmd is None:
            break
        if cmd == "getheaders":
            start = 0
            for h in parse_locator(payload):
                if h in index:
                    start = index[h] + 1
                    break
                if h == genesis:
                    break
            p.send_cmd("headers", headers_payload(chain[start:start + 2000]))
            await p.drain()
        elif cmd == "getdata":
            n = struct.unpack("<B", payload[:1])[0] if payload[0] < 0xFD else 0
            requested += n
            if not announced:
                announced = True
                print(json.dumps({"stalling": requested, "chain": len(chain)}), flush=True)
    return {
        "chain": len(chain),
        "blocks_requested": requested,
        "disconnected": p.closed,
        "secs": round(time.monotonic() - started, 1),
    }
