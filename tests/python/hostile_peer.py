#!/usr/bin/env python3
"""A hostile peer for weftd, built on python-bitcoinlib (never on weft's code).

Usage: hostile_peer.py <attack> <host:port> [args...]

Attacks: invalid, invalid_lenient, header_tree, addr_flood, stall, eviction, discouraged, conn_flood,
silent_flood, getaddr_answer.
Prints intermediate JSON lines where the test must act, then a final JSON result on
stdout; exits non-zero on failure.
"""

import asyncio
import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hostile import chain, eviction, floods, invalid  # noqa: E402

ATTACKS = {
    "invalid": invalid.run,
    "invalid_lenient": invalid.lenient,
    "header_tree": chain.header_tree,
    "addr_flood": floods.addr_flood,
    "stall": chain.stall,
    "eviction": eviction.eviction,
    "discouraged": eviction.discouraged,
    "conn_flood": floods.conn_flood,
    "silent_flood": floods.silent_flood,
    "getaddr_answer": floods.getaddr_answer,
}


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ATTACKS:
        print(__doc__, file=sys.stderr)
        return 2
    host, port = sys.argv[2].removeprefix("tcp://").rsplit(":", 1)
    try:
        result = asyncio.run(ATTACKS[sys.argv[1]](host, int(port), sys.argv[3:]))
    except Exception as e:  # the test shows the traceback with the node's log
        traceback.print_exc()
        print(json.dumps({"error": repr(e)}), flush=True)
        return 1
    print(json.dumps({"result": result}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
