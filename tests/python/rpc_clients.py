"""Calls a running weftd through clients weft does not use itself.

- HTTP/1.1: python-bitcoinlib's bitcoin.rpc.Proxy (Core's classic Python client).
- HTTP/3: aioquic, trusting only the node's rpc-cert.pem.

Usage: rpc_clients.py <http_port> <h3_port> <user> <password> <cert.pem> <expected.json>
where expected.json holds {"height": N, "tip": "<hash>", "block1_hex": "<hex>"}.
Prints one "ok: ..." line per check and exits non-zero on the first failure.
"""

import asyncio
import base64
import json
import ssl
import sys
import tempfile
from binascii import hexlify

import bitcoin
import bitcoin.rpc
from bitcoin.core import b2lx
from aioquic.asyncio import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration

http_port, h3_port = int(sys.argv[1]), int(sys.argv[2])
user, password, cert = sys.argv[3], sys.argv[4], sys.argv[5]
expected = json.load(open(sys.argv[6]))


def ok(msg):
    print("ok:", msg, flush=True)


def expect_code(fn, code, what):
    try:
        fn()
    except bitcoin.rpc.JSONRPCError as e:
        got = e.error.get("code")
        assert got == code, f"{what}: code {got}, want {code}: {e.error}"
        ok(f"{what} -> {code} ({e.error.get('message')})")
        return
    raise AssertionError(f"{what}: no error")


# --- HTTP/1.1 with python-bitcoinlib -------------------------------------------------
bitcoin.SelectParams("regtest")
proxy = bitcoin.rpc.Proxy(service_url=f"http://{user}:{password}@127.0.0.1:{http_port}")
assert proxy.getblockcount() == expected["height"]
ok("getblockcount")
tip = proxy.getbestblockhash()
assert b2lx(tip) == expected["tip"], b2lx(tip)
ok("getbestblockhash")
h1 = proxy.getblockhash(1)
block1 = proxy.getblock(h1)  # getblock <hash> false, deserialized by python-bitcoinlib
assert hexlify(block1.serialize()).decode() == expected["block1_hex"]
assert block1.GetHash() == h1
ok("getblock (hex) deserializes to the same block")
header = proxy.getblockheader(h1)
assert header.GetHash() == h1
ok("getblockheader (hex) deserializes")
info = proxy._call("getblockchaininfo")
assert info["chain"] == "regtest" and info["blocks"] == expected["height"], info
ok("getblockchaininfo")
# The Proxy's typed helpers turn -5/-8 into IndexError; _call keeps Core's codes visible.
expect_code(lambda: proxy._call("getblock", "00" * 32), -5, "getblock unknown")
expect_code(lambda: proxy._call("getblockhash", 10**6), -8, "getblockhash out of range")
expect_code(lambda: proxy._call("nosuchmethod"), -32601, "unknown method")

# Parse error and batches straight over HTTP/1.1 (the Proxy cannot send bad JSON).
import http.client

auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
conn = http.client.HTTPConnection("127.0.0.1", http_port)
conn.request("POST", "/", body=b"{not json", headers={"Authorization": auth})
r = conn.getresponse()
body = json.loads(r.read())
assert body["error"]["code"] == -32700, body
ok(f"parse error -> -32700 (HTTP {r.status})")
batch = [{"method": "getblockcount", "id": 1}, {"jsonrpc": "2.0", "method": "getbestblockhash", "id": 2}]
conn.request("POST", "/", body=json.dumps(batch).encode(), headers={"Authorization": auth})
r = conn.getresponse()
replies = json.loads(r.read())
assert r.status == 200 and replies[0]["result"] == expected["height"] and replies[1]["result"] == expected["tip"], replies
ok("batch of 1.0 and 2.0 calls on a kept-alive connection")
conn.request("POST", "/", body=b'{"method":"getblockcount","id":1}', headers={"Authorization": "Basic " + base64.b64encode(b"x:y").decode()})
r = conn.getresponse()
r.read()
assert r.status == 401, r.status
ok("HTTP/1.1 bad login -> 401")


# --- HTTP/3 with aioquic --------------------------------------------------------------
class H3Client(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.h3 = H3Connection(self._quic)
        self.waiters = {}
        self.replies = {}

    def quic_event_received(self, event):
        for ev in self.h3.handle_event(event):
            sid = ev.stream_id
            rep = self.replies.setdefault(sid, {"status": None, "body": b""})
            if isinstance(ev, HeadersReceived):
                for k, v in ev.headers:
                    if k == b":status":
                        rep["status"] = int(v)
            elif isinstance(ev, DataReceived):
                rep["body"] += ev.data
            if getattr(ev, "stream_ended", False) and sid in self.waiters:
                self.waiters.pop(sid).set_result(rep)

    async def post(self, body, authorization):
        sid = self._quic.get_next_available_stream_id()
        headers = [
            (b":method", b"POST"),
            (b":scheme", b"https"),
            (b":authority", b"localhost"),
            (b":path", b"/"),
            (b"content-type", b"application/json"),
            (b"authorization", authorization.encode()),
        ]
        self.h3.send_headers(sid, headers)
        self.h3.send_data(sid, body, end_stream=True)
        fut = asyncio.get_running_loop().create_future()
        self.waiters[sid] = fut
        self.transmit()
        return await asyncio.wait_for(fut, 10)


def h3_config(cafile):
    c = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, server_name="localhost")
    c.verify_mode = ssl.CERT_REQUIRED
    c.load_verify_locations(cafile)
    return c


async def h3_checks():
    async with connect("127.0.0.1", h3_port, configuration=h3_config(cert), create_protocol=H3Client) as client:
        rep = await client.post(b'{"method":"getblockcount","params":[],"id":1}', auth)
        assert rep["status"] == 200 and json.loads(rep["body"])["result"] == expected["height"], rep
        ok("HTTP/3 getblockcount")
        rep = await client.post(json.dumps({"method": "getblock", "params": [expected["block1_hash"], 0], "id": 2}).encode(), auth)
        assert json.loads(rep["body"])["result"] == expected["block1_hex"], rep
        ok("HTTP/3 getblock hex matches")
        rep = await client.post(b'{"method":"getblock","params":["' + b"00" * 32 + b'"],"id":3}', auth)
        assert json.loads(rep["body"])["error"]["code"] == -5, rep
        ok("HTTP/3 getblock unknown -> -5")
        rep = await client.post(b'{"method":"nosuchmethod","id":4}', auth)
        assert json.loads(rep["body"])["error"]["code"] == -32601, rep
        ok("HTTP/3 unknown method -> -32601")
        rep = await client.post(b'{"method":"getblockcount","id":5}', "Basic " + base64.b64encode(b"x:y").decode())
        assert rep["status"] == 401, rep
        ok("HTTP/3 bad login -> 401")
        big = b'{"method":"getblockcount","params":["' + b"a" * (33 * 1024 * 1024) + b'"],"id":6}'
        try:
            rep = await client.post(big, auth)
            assert rep["status"] == 413, rep["status"]
            ok("HTTP/3 oversized request -> 413")
        except (asyncio.TimeoutError, ConnectionError) as e:
            raise AssertionError(f"oversized request: no 413 ({e!r})")


async def wrong_cert():
    # A certificate the node never used: the handshake must fail.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import datetime

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    other = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    with tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False) as f:
        f.write(other.public_bytes(serialization.Encoding.PEM))
        path = f.name
    try:
        async with connect("127.0.0.1", h3_port, configuration=h3_config(path), create_protocol=H3Client, wait_connected=True) as client:
            await asyncio.wait_for(client.post(b'{"method":"getblockcount","id":1}', auth), 5)
    except Exception as e:  # aioquic raises ConnectionError or a TLS alert
        ok(f"HTTP/3 with the wrong certificate fails: {type(e).__name__}")
        return
    raise AssertionError("connected while trusting the wrong certificate")


asyncio.run(h3_checks())
asyncio.run(asyncio.wait_for(wrong_cert(), 20))
print("all ok")
