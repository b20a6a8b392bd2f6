"""Malformed and oversized messages (after Core's p2p_invalid_messages).

Each case runs on its own connection from its own loopback source address, so a
discouraged case cannot spoil the next one. A case reports whether the node hung up
and how long that took.
"""

import asyncio
import os
import struct
import time

from bitcoin.core import CBlockHeader
from bitcoin.messages import msg_addr, msg_inv, msg_ping
from bitcoin.net import CAddress, CInv

from .wire import MAGIC, PROTOCOL, Peer, frame, headers_payload, version_msg


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def fresh(host, port, n):
    return await Peer.connect(host, port, source=f"127.20.{n}.1")


async def closes(p, timeout=15):
    await p.drain()
    t = time.monotonic()
    closed = await p.wait_closed(timeout)
    return {"disconnected": closed, "secs": round(time.monotonic() - t, 3)}


async def ready(host, port, n):
    p = await fresh(host, port, n)
    ok = await p.handshake()
    if not ok:
        raise RuntimeError(f"case {n}: handshake failed")
    return p


def many_inv(n):
    m = msg_inv(PROTOCOL)
    for i in range(n):
        inv = CInv()
        inv.type = 1
        inv.hash = i.to_bytes(32, "little")
        m.inv.append(inv)
    return m


def many_addr(n):
    m = msg_addr(PROTOCOL)
    now = int(time.time())
    for i in range(n):
        a = CAddress(PROTOCOL)
        a.nTime = now
        a.nServices = 9
        a.ip = f"11.{(i >> 8) & 255}.{i & 255}.1"
        a.port = 8333
        m.addrs.append(a)
    return m


async def bad_checksum(host, port, n):
    p = await ready(host, port, n)
    bad = bytearray(msg_ping(PROTOCOL, 7).to_bytes())
    bad[20] ^= 0xFF
    p.send_raw(bytes(bad))
    return await closes(p, 5)


async def bad_msgtype(host, port, n):
    p = await ready(host, port, n)
    p.send_cmd("\x01\x02weird", b"")
    return await closes(p, 5)


async def lenient(host, port, args):
    """What Core drops without disconnecting (Header error, reject_message): a wrong
    checksum and a message type with non-printable characters."""
    return {"bad_checksum": await bad_checksum(host, port, 11),
            "bad_msgtype": await bad_msgtype(host, port, 12)}


async def run(host, port, args):
    pid = int(args[0]) if args else None
    out = {}
    # A frame that claims ~3.9 MB and never delivers: pre-handshake, so only the
    # handshake timeout can end it; opened first and checked last. Fifty of them
    # must not make the node reserve 50 x 3.9 MB.
    rss0 = rss_kib(pid) if pid else 0
    stalls = []
    for i in range(50):
        s = await Peer.connect(host, port, source=f"127.21.{i}.1")
        head = MAGIC + b"block".ljust(12, b"\x00") + struct.pack("<I", 3_900_000) + b"\x00" * 4
        s.send_raw(head + b"\x01" * 100)
        await s.drain()
        s.start()
        stalls.append(s)
    await asyncio.sleep(0.5)
    rss1 = rss_kib(pid) if pid else 0
    out["stalled_frames_rss_growth_kib"] = rss1 - rss0
    stall_started = time.monotonic()

    p = await fresh(host, port, 1)
    p.send_raw(frame("version", version_msg().to_bytes()[24:], magic=b"\xf9\xbe\xb4\xd9"))
    out["bad_magic"] = await closes(p)

    out["bad_checksum"] = await bad_checksum(host, port, 2)

    p = await ready(host, port, 3)
    p.send_raw(MAGIC + b"block".ljust(12, b"\x00") + struct.pack("<I", 4_000_001) + b"\x00" * 4)
    out["oversized_header"] = await closes(p)

    p = await ready(host, port, 4)
    p.send_cmd("foobarbaz", os.urandom(100))
    await p.drain()
    out["unknown_command"] = {"alive": await p.alive()}
    p.close()

    p = await ready(host, port, 5)
    p.send(many_inv(50_001))
    out["inv_50001"] = await closes(p)

    p = await ready(host, port, 6)
    # Valid, connected headers would be fine; too many in one message is not.
    hdrs = [CBlockHeader(nBits=0x207FFFFF, nNonce=i) for i in range(2_001)]
    p.send_cmd("headers", headers_payload(hdrs))
    out["headers_2001"] = await closes(p)

    p = await ready(host, port, 7)
    p.send(many_addr(1_001))
    out["addr_1001"] = await closes(p)

    p = await ready(host, port, 8)
    p.send(version_msg())
    out["duplicate_version"] = await closes(p)

    p = await fresh(host, port, 9)
    p.send(msg_ping(PROTOCOL, 9))
    out["ping_before_version"] = await closes(p)

    # After `version` but before `verack`: Core ignores other messages, so must weft.
    p = await fresh(host, port, 10)
    p.start()
    p.send(version_msg())
    await p.drain()
    await p.expect("version")
    p.send(msg_ping(PROTOCOL, 10))
    p.send_cmd("verack", b"")
    await p.drain()
    await p.expect("verack")
    out["ping_before_verack"] = {"alive": await p.alive()}
    p.close()

    # The stalled frames: the handshake timeout must end every one of them.
    left = 90 - (time.monotonic() - stall_started)
    results = await asyncio.gather(*(s.wait_closed(max(left, 1)) for s in stalls))
    out["stalled_frames"] = {
        "disconnected": sum(results),
        "of": len(stalls),
        "secs": round(time.monotonic() - stall_started, 1),
    }
    return out
