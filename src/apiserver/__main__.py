"""``python -m apiserver [--data-dir DIR] [--host H] [--port P] [--token-file F]``: serve a Registry.

Without ``--data-dir`` the store is in memory (gone when the process exits).
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading

import kvstore
import objects

from .server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apiserver", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="directory of the durable store (default: in memory)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=6443, help="port (default 6443; 0 picks a free one)")
    parser.add_argument("--token-file", help="file holding the bearer token clients must send")
    args = parser.parse_args(argv)
    token = None
    if args.token_file:
        with open(args.token_file, encoding="utf-8") as f:
            token = f.read().strip()
    store = kvstore.open(args.data_dir, fsync="batch") if args.data_dir else kvstore.open()
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    server = serve(objects.Registry(store), args.host, args.port, token)
    print(f"serving the Kubernetes API at {server.url}", flush=True)
    try:
        done.wait()
    finally:
        server.stop()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
