"""Address flood (after Core's p2p_addr_relay) and the connection flood."""

import asyncio
import json
import random
import sys
import time

from bitcoin.messages import msg_addr, msg_verack
from bitcoin.net import CAddress

from .wire import PROTOCOL, Peer, version_msg


def addr_batch(batch, n=1_000):
    """`n` distinct routable addresses, fresh, with NODE_NETWORK | NODE_WITNESS."""
    m = msg_addr(PROTOCOL)
    now = int(time.time())
    for i in range(n):
        a = CAddress(PROTOCOL)
        a.nTime = now - random.randint(0, 60)
        a.nServices = 9
        a.ip = f"{20 + batch}.{i >> 8}.{i & 255}.7"
        a.port = 8333
        m.addrs.append(a)
    return m


async def wait_stdin():
    """Holds the connection open until the test closes our stdin."""
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)


async def addr_flood(host, port, args):
    messages = int(args[0]) if args else 10
    spacing = float(args[1]) if len(args) > 1 else 2.0
    p = await Peer.connect(host, port, source="127.30.0.1")
    connected = time.monotonic()
    if not await p.handshake():
        raise RuntimeError("handshake failed")
    for b in range(messages):
        p.send(addr_batch(b))
        await p.drain()
        if b + 1 < messages:
            await asyncio.sleep(spacing)
    # A ping round trip: every addr before it has been handled.
    alive = await p.alive()
    report = {
        "sent": messages * 1_000,
        "alive": alive,
        "secs_since_connect": round(time.monotonic() - connected, 3),
    }
    print(json.dumps(report), flush=True)
    await wait_stdin()
    report["still_alive"] = await p.alive()
    p.close()
    return report


async def conn_flood(host, port, args):
    """`total` connection attempts spread over `secs` seconds from many source addresses.

    A third complete the handshake and stay, a third connect and say nothing, a third
    send half a `version` header and hang up. Connection errors are counted, not fatal.
    """
    total = int(args[0]) if args else 1_000
    secs = float(args[1]) if len(args) > 1 else 10.0
    held = []
    stats = {"attempts": 0, "connected": 0, "handshaken": 0, "errors": 0}

    async def one(i):
        src = f"127.{40 + i // 250}.{i % 250}.1"
        stats["attempts"] += 1
        try:
            p = await Peer.connect(host, port, source=src, timeout=5)
        except (OSError, asyncio.TimeoutError):
            stats["errors"] += 1
            return
        stats["connected"] += 1
        kind = i % 3
        if kind == 0:
            try:
                if await asyncio.wait_for(p.handshake(), 15):
                    stats["handshaken"] += 1
            except asyncio.TimeoutError:
                pass
            held.append(p)
        elif kind == 1:
            held.append(p)
        else:
            p.send_raw(b"\xfa\xbf\xb5\xdaversion\x00")
            await p.drain()
            p.close()

    start = time.monotonic()
    tasks = []
    for i in range(total):
        tasks.append(asyncio.ensure_future(one(i)))
        await asyncio.sleep(max(0.0, start + secs * (i + 1) / total - time.monotonic()))
    await asyncio.gather(*tasks)
    stats["flood_secs"] = round(time.monotonic() - start, 3)
    stats["still_open"] = sum(1 for p in held if not p.closed)
    for p in held:
        p.close()
    return stats


async def silent_flood(host, port, args):
    """`n` connections that never send a byte, then one honest peer: does it get in?"""
    n = int(args[0]) if args else 100
    silent = []
    for i in range(n):
        try:
            silent.append(await Peer.connect(host, port, source=f"127.{40 + i // 250}.{i % 250}.9", timeout=5))
        except (OSError, asyncio.TimeoutError):
            pass
    await asyncio.sleep(0.5)
    p = await Peer.connect(host, port, source="127.200.0.1")
    t = time.monotonic()
    try:
        ok = await asyncio.wait_for(p.handshake(), 10)
    except asyncio.TimeoutError:
        ok = False
    report = {"silent": len(silent), "honest_admitted": ok, "secs": round(time.monotonic() - t, 3)}
    for s in silent + [p]:
        s.close()
    return report


async def getaddr_answer(host, port, args):
    """Listens; when the node dials us and asks `getaddr`, answers with 1,000
    addresses (exempt from the rate limit, as Core's bucket gains 1,000 tokens with
    a `getaddr`), then sends 1,000 more unasked (rate-limited)."""
    done = asyncio.get_running_loop().create_future()

    async def serve(reader, writer):
        p = Peer(reader, writer, "node").start()
        if await p.expect("version") is None:
            return
        p.send(version_msg())
        p.send(msg_verack(PROTOCOL))
        await p.drain()
        asked = await p.expect("getaddr", 20) is not None
        p.send(addr_batch(0))
        await p.drain()
        alive = await p.alive()
        p.send(addr_batch(1))
        await p.drain()
        alive = alive and await p.alive()
        if not done.done():
            done.set_result(({"asked": asked, "alive": alive}, p))

    server = await asyncio.start_server(serve, "127.35.0.1", 0)
    listen = server.sockets[0].getsockname()[1]
    print(json.dumps({"listening": f"127.35.0.1:{listen}"}), flush=True)
    report, p = await asyncio.wait_for(done, 60)
    print(json.dumps(report), flush=True)
    await wait_stdin()
    p.close()
    server.close()
    return report
