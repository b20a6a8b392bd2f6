"""A minimal v1 peer built on python-bitcoinlib, independent of weft's codec.

Standard messages come from `bitcoin.messages`; `headers` and malformed frames are
built with struct + hashlib because python-bitcoinlib's `msg_headers` omits the
per-header transaction count that the wire format carries.
"""

import asyncio
import hashlib
import random
import struct
import time

import bitcoin
from bitcoin.core import CBlockHeader
from bitcoin.messages import msg_ping, msg_pong, msg_verack, msg_version
from bitcoin.net import CAddress

bitcoin.SelectParams("regtest")

MAGIC = bitcoin.params.MESSAGE_START
PROTOCOL = 70016
NODE_NETWORK = 1
NODE_WITNESS = 1 << 3
MAX_FRAME = 4_000_000


def dsha(b):
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def frame(command, payload, magic=MAGIC):
    """A v1 frame: magic, 12-byte command, length, checksum, payload."""
    cmd = command.encode() if isinstance(command, str) else command
    return magic + cmd.ljust(12, b"\x00") + struct.pack("<I", len(payload)) + dsha(payload)[:4] + payload


def varint(n):
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + struct.pack("<H", n)
    if n <= 0xFFFFFFFF:
        return b"\xfe" + struct.pack("<I", n)
    return b"\xff" + struct.pack("<Q", n)


def headers_payload(headers):
    """`headers`: a count, then each 80-byte header followed by a zero tx count."""
    return varint(len(headers)) + b"".join(h.serialize() + b"\x00" for h in headers)


def parse_headers(payload):
    """Headers from a `headers` payload (skipping each trailing tx count)."""
    n, off = read_varint(payload, 0)
    out = []
    for _ in range(n):
        out.append(CBlockHeader.deserialize(payload[off:off + 80]))
        off += 81
    return out


def read_varint(b, off):
    first = b[off]
    if first < 0xFD:
        return first, off + 1
    size = {0xFD: 2, 0xFE: 4, 0xFF: 8}[first]
    return int.from_bytes(b[off + 1:off + 1 + size], "little"), off + 1 + size


def version_msg(services=NODE_NETWORK | NODE_WITNESS, relay=True, height=0):
    v = msg_version(PROTOCOL)
    v.nVersion = PROTOCOL
    v.nServices = services
    v.addrTo = CAddress(PROTOCOL)
    v.addrFrom = CAddress(PROTOCOL)
    v.nNonce = random.getrandbits(64)
    v.strSubVer = b"/hostile-peer:0.1/"
    v.nStartingHeight = height
    v.fRelay = relay
    return v


def grind(header_fields, target_bits=0x207FFFFF):
    """A header (as CBlockHeader) whose hash meets `target_bits`, by nonce search."""
    exp = target_bits >> 24
    target = (target_bits & 0xFFFFFF) << (8 * (exp - 3))
    nonce = 0
    while True:
        h = CBlockHeader(nNonce=nonce, nBits=target_bits, **header_fields)
        if int.from_bytes(h.GetHash(), "little") <= target:
            return h
        nonce += 1


class Peer:
    """One TCP connection speaking v1 to the node."""

    def __init__(self, reader, writer, name=""):
        self.r = reader
        self.w = writer
        self.name = name
        self.closed = False
        self.pong_delay = 0.0
        self.answer_pings = True
        self.inbox = asyncio.Queue()
        self.seen = []  # (command, payload) of everything received
        self.task = None

    @classmethod
    async def connect(cls, host, port, source=None, name="", timeout=10):
        local = (source, 0) if source else None
        r, w = await asyncio.wait_for(asyncio.open_connection(host, port, local_addr=local), timeout)
        return cls(r, w, name or (source or ""))

    def send_raw(self, data):
        if not self.closed:
            self.w.write(data)

    def send(self, msg):
        self.send_raw(msg.to_bytes())

    def send_cmd(self, command, payload):
        self.send_raw(frame(command, payload))

    async def drain(self):
        try:
            await self.w.drain()
        except (ConnectionError, OSError):
            self.closed = True

    async def recv_frame(self):
        head = await self.r.readexactly(24)
        if head[:4] != MAGIC:
            raise ValueError("bad magic from node")
        cmd = head[4:16].rstrip(b"\x00").decode()
        (n,) = struct.unpack("<I", head[16:20])
        if n > MAX_FRAME:
            raise ValueError("oversized frame from node")
        payload = await self.r.readexactly(n)
        if dsha(payload)[:4] != head[20:24]:
            raise ValueError("bad checksum from node")
        return cmd, payload

    async def _pong_later(self, nonce):
        await asyncio.sleep(self.pong_delay)
        self.send(msg_pong(PROTOCOL, nonce))

    async def pump(self):
        """Reads until EOF; answers pings (at once or after `pong_delay`)."""
        try:
            while True:
                cmd, payload = await self.recv_frame()
                self.seen.append((cmd, payload))
                if cmd == "ping" and self.answer_pings:
                    nonce = struct.unpack("<Q", payload[:8])[0]
                    if self.pong_delay:
                        asyncio.ensure_future(self._pong_later(nonce))
                    else:
                        self.send(msg_pong(PROTOCOL, nonce))
                await self.inbox.put((cmd, payload))
        except (asyncio.IncompleteReadError, ConnectionError, OSError, ValueError, struct.error):
            pass
        self.closed = True
        await self.inbox.put((None, b""))

    def start(self):
        self.task = asyncio.ensure_future(self.pump())
        return self

    async def expect(self, command, timeout=20):
        """The next message with `command`; None on EOF or timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                cmd, payload = await asyncio.wait_for(self.inbox.get(), left)
            except asyncio.TimeoutError:
                return None
            if cmd is None:
                self.closed = True
                return None
            if cmd == command:
                return payload

    async def handshake(self, **kw):
        """Sends `version`, waits for the node's `version`, then `verack` both ways."""
        self.start()
        self.send(version_msg(**kw))
        await self.drain()
        if await self.expect("version") is None:
            return False
        self.send(msg_verack(PROTOCOL))
        await self.drain()
        return await self.expect("verack") is not None

    async def wait_closed(self, timeout):
        """True if the node closes the connection within `timeout` seconds."""
        if self.task is None:
            self.start()
        try:
            await asyncio.wait_for(asyncio.shield(self.task), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def alive(self, timeout=10):
        """Whether the node still answers a ping on this connection."""
        nonce = random.getrandbits(63) + 1
        self.send(msg_ping(PROTOCOL, nonce))
        await self.drain()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            payload = await self.expect("pong", deadline - time.monotonic())
            if payload is None:
                return False
            if struct.unpack("<Q", payload[:8])[0] == nonce:
                return True
        return False

    def close(self):
        self.closed = True
        try:
            self.w.close()
        except Exception:
            pass
