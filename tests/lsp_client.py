"""A minimal LSP client over stdio (JSON-RPC with Content-Length framing) for driving the real
``bnlint server`` process in tests and in benchmarks/lsp_latency.py."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional


class LspClient:
    def __init__(self, cwd: str, args: Optional[List[str]] = None, env: Optional[dict] = None):
        cmd = [sys.executable, "-m", "bnlint", "server"] + (args or [])
        self.stderr = open(os.path.join(cwd, ".lsp-server.log"), "wb")
        self.proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=env)
        self._next_id = 0
        self._responses: Dict[int, "queue.Queue"] = {}
        self.notifications: "queue.Queue" = queue.Queue()
        self.log: List[dict] = []  # every notification received, in order
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # -- framing ----------------------------------------------------------------------------------
    def _send(self, message: dict) -> None:
        body = json.dumps(message).encode("utf-8")
        with self._lock:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()

    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            headers = {}
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                key, _, value = line.decode("ascii").partition(":")
                headers[key.strip().lower()] = value.strip()
            body = json.loads(out.read(int(headers["content-length"])))
            if "id" in body and "method" in body:  # a request from the server: answer it
                self._send({"jsonrpc": "2.0", "id": body["id"], "result": None})
            elif "id" in body:
                self._responses.setdefault(body["id"], queue.Queue()).put(body)
            else:
                self.log.append(body)
                self.notifications.put((time.perf_counter(), body))

    # -- messages ---------------------------------------------------------------------------------
    def request(self, method: str, params: Any, timeout: float = 60.0) -> Any:
        self._next_id += 1
        rid = self._next_id
        box = self._responses.setdefault(rid, queue.Queue())
        self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        reply = box.get(timeout=timeout)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait(self, method: str, where: Callable[[dict], bool] = lambda p: True, timeout: float = 60.0):
        """(arrival time, params) of the next notification ``method`` whose params satisfy ``where``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {method} notification within {timeout} s")
            at, msg = self.notifications.get(timeout=left)
            if msg.get("method") == method and where(msg.get("params")):
                return at, msg["params"]

    def diagnostics(self, uri: str, timeout: float = 60.0) -> List[dict]:
        return self.wait("textDocument/publishDiagnostics", lambda p: p["uri"] == uri, timeout)[1]["diagnostics"]

    # -- session ----------------------------------------------------------------------------------
    def initialize(self, root: str, options: Optional[dict] = None, notebooks: bool = True) -> dict:
        caps: Dict[str, Any] = {
            "general": {"positionEncodings": ["utf-16"]},
            "textDocument": {"publishDiagnostics": {"versionSupport": True},
                             "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": [
                                 "quickfix", "source", "source.fixAll"]}}},
                             "hover": {"contentFormat": ["markdown", "plaintext"]}},
        }
        if notebooks:
            caps["notebookDocument"] = {"synchronization": {"dynamicRegistration": False}}
        result = self.request("initialize", {"processId": os.getpid(), "rootUri": "file://" + root,
                                             "capabilities": caps, "initializationOptions": options or {}})
        self.notify("initialized", {})
        return result

    def close(self) -> int:
        try:
            self.request("shutdown", None, timeout=10)
            self.notify("exit", None)
            return self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            return self.proc.wait()
        finally:
            self.stderr.close()


def uri_of(path: str) -> str:
    from urllib.parse import quote

    return "file://" + quote(os.path.abspath(path))


def apply_edits(text: str, edits: List[dict]) -> str:
    """Apply LSP TextEdits (UTF-16 positions, as the client negotiated) to ``text``."""
    lines = text.splitlines(keepends=True) or [""]

    def offset(pos: dict) -> int:
        row = pos["line"]
        if row >= len(lines):
            return len(text)
        line = lines[row]
        units, chars = 0, 0
        for ch in line:
            if units >= pos["character"]:
                break
            units += 2 if ord(ch) > 0xFFFF else 1
            chars += 1
        return sum(len(x) for x in lines[:row]) + chars

    spans = sorted(((offset(e["range"]["start"]), offset(e["range"]["end"]), e["newText"]) for e in edits), reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text
