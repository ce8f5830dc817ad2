"""``python -m apiserver``: a real process on 127.0.0.1, a durable store that survives a restart, a token."""
from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys

from apiclient import Client


def _start(data_dir: pathlib.Path, token_file: pathlib.Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "apiserver", "--data-dir", str(data_dir), "--port", "0",
                             "--token-file", str(token_file)], stdout=subprocess.PIPE, text=True, env=os.environ)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    assert "http://127.0.0.1:" in line, line
    return proc, line.split()[-1]


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        raise


def test_cli_serves_a_durable_store_with_a_token(tmp_path: pathlib.Path) -> None:
    token = tmp_path / "token"
    token.write_text("t0ken\n")
    proc, url = _start(tmp_path / "kv", token)
    try:
        assert Client(url).get("/version")[0] == 401
        status, _ = Client(url, "t0ken").post("/api/v1/namespaces/default/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kept"}, "data": {"a": "b"}})
        assert status == 201
    finally:
        assert _stop(proc) == 0
    proc, url = _start(tmp_path / "kv", token)
    try:
        status, body = Client(url, "t0ken").get("/api/v1/namespaces/default/configmaps/kept")
        assert status == 200 and body["data"] == {"a": "b"}
    finally:
        assert _stop(proc) == 0
