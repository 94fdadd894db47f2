"""The two scripts the chart runs in pods, exercised against loopback HTTP servers.

files/fetch_bundle.py: the init container for model.source=url (download, sha256, extract).
files/smoke_test.py: the `helm test` pod (GET /health/ready, then one POST /qa).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from .deploy_helpers import CHART

FETCH = CHART / "files" / "fetch_bundle.py"
SMOKE = CHART / "files" / "smoke_test.py"

Handler = Callable[[BaseHTTPRequestHandler], None]


@pytest.fixture
def http_server() -> Iterator[Callable[[dict[tuple[str, str], Handler]], str]]:
    """Start a loopback HTTP server whose routes are {(method, path): handler}; yields its URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(routes: dict[tuple[str, str], Handler]) -> str:
        class RouteHandler(BaseHTTPRequestHandler):
            def handle_route(self) -> None:
                route = routes.get((self.command, self.path))
                if route is None:
                    self.send_error(404)
                    return
                route(self)

            do_GET = handle_route
            do_POST = handle_route

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), RouteHandler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def reply(
    status: int,
    body: bytes,
    content_type: str = "application/json",
    requests: list[BaseHTTPRequestHandler] | None = None,
    bodies: list[bytes] | None = None,
) -> Handler:
    """A handler that answers `status` and `body`, recording the request and its body."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        received = request.rfile.read(length) if length else b""
        if requests is not None:
            requests.append(request)
        if bodies is not None:
            bodies.append(received)
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return handler


def run_script(script: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a chart script the way the pod does: `python -c <file contents>`."""
    return subprocess.run(
        [sys.executable, "-c", script.read_text(encoding="utf-8")],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def bundle_archive(members: dict[str, bytes], prefix: str = "student-v3/") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# --- fetch_bundle.py ------------------------------------------------------------------------


def fetch(url: str, sha256: str, dest: Path) -> subprocess.CompletedProcess[str]:
    return run_script(
        FETCH,
        {
            "BUNDLE_URL": url,
            "BUNDLE_SHA256": sha256,
            "BUNDLE_DEST": str(dest),
            "BUNDLE_TIMEOUT_S": "10",
        },
    )


def test_fetch_bundle_verifies_and_extracts(http_server: Any, tmp_path: Path) -> None:
    archive = bundle_archive({"manifest.json": b'{"name": "v3"}', "model.onnx": b"\x08\x01" * 1000})
    base = http_server({("GET", "/b.tar.gz"): reply(200, archive, "application/gzip")})
    digest = hashlib.sha256(archive).hexdigest()
    result = fetch(f"{base}/b.tar.gz", digest.upper(), tmp_path / "models")
    assert result.returncode == 0, result.stderr
    bundle = tmp_path / "models" / "student-v3"
    assert (bundle / "manifest.json").read_bytes() == b'{"name": "v3"}'
    assert (bundle / "model.onnx").stat().st_size == 2000
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["student-v3"]  # no leftovers
    assert digest in result.stdout


def test_fetch_bundle_refuses_a_digest_mismatch(http_server: Any, tmp_path: Path) -> None:
    archive = bundle_archive({"manifest.json": b"{}"})
    base = http_server({("GET", "/b.tar.gz"): reply(200, archive, "application/gzip")})
    result = fetch(f"{base}/b.tar.gz", "0" * 64, tmp_path / "models")
    assert result.returncode != 0
    assert "sha256 mismatch" in result.stderr
    assert list((tmp_path / "models").iterdir()) == []  # nothing extracted, partial file removed


def test_fetch_bundle_refuses_members_escaping_the_volume(http_server: Any, tmp_path: Path) -> None:
    archive = bundle_archive({"../../escape.txt": b"x"}, prefix="")
    base = http_server({("GET", "/b.tar.gz"): reply(200, archive, "application/gzip")})
    dest = tmp_path / "deep" / "models"
    result = fetch(f"{base}/b.tar.gz", hashlib.sha256(archive).hexdigest(), dest)
    assert result.returncode != 0
    assert not (tmp_path / "escape.txt").exists()


@pytest.mark.parametrize(
    ("url", "sha256", "message"),
    [
        ("file:///etc/passwd", "a" * 64, "must be http(s)"),
        ("http://127.0.0.1:9/b.tar.gz", "not-a-digest", "64 hex digits"),
    ],
)
def test_fetch_bundle_checks_its_inputs(
    tmp_path: Path, url: str, sha256: str, message: str
) -> None:
    result = fetch(url, sha256, tmp_path / "models")
    assert result.returncode != 0
    assert message in result.stderr


def test_fetch_bundle_fails_on_http_errors(http_server: Any, tmp_path: Path) -> None:
    base = http_server({})
    result = fetch(f"{base}/missing.tar.gz", "a" * 64, tmp_path / "models")
    assert result.returncode != 0
    assert "404" in result.stderr


# --- smoke_test.py (helm test) --------------------------------------------------------------

CONTEXT = "Lyon is located at the confluence of the rivers Rhone and Saone."
START = CONTEXT.index("Rhone and Saone")
GOOD_ANSWER = {"answer": "Rhone and Saone", "start": START, "end": START + 15, "score": 0.9}


def smoke(base: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {"ROAD_URL": base, "ROAD_TEST_QUESTION": "Which rivers?", "ROAD_TEST_CONTEXT": CONTEXT}
    return run_script(SMOKE, {**env, **extra})


def test_smoke_test_passes_against_a_healthy_server(http_server: Any) -> None:
    assert CONTEXT[GOOD_ANSWER["start"] : GOOD_ANSWER["end"]] == GOOD_ANSWER["answer"]
    bodies: list[bytes] = []
    qa = reply(200, json.dumps(GOOD_ANSWER).encode(), bodies=bodies)
    base = http_server(
        {("GET", "/health/ready"): reply(200, b'{"status": "ready"}'), ("POST", "/qa"): qa}
    )
    result = smoke(base)
    assert result.returncode == 0, result.stderr
    assert [json.loads(body) for body in bodies] == [
        {"question": "Which rivers?", "context": CONTEXT}
    ]


def test_smoke_test_sends_the_api_key(http_server: Any, tmp_path: Path) -> None:
    keys = tmp_path / "api-keys"
    keys.write_text("# comment\n\nfirst-key-0123456789\nsecond-key\n")
    requests: list[BaseHTTPRequestHandler] = []
    qa = reply(200, json.dumps(GOOD_ANSWER).encode(), requests=requests)
    base = http_server({("GET", "/health/ready"): reply(200, b"{}"), ("POST", "/qa"): qa})
    result = smoke(base, ROAD_API_KEYS_FILE=str(keys))
    assert result.returncode == 0, result.stderr
    headers = [(r.headers.get("Authorization"), r.headers.get("X-API-Key")) for r in requests]
    assert headers == [("Bearer first-key-0123456789", "first-key-0123456789")]


@pytest.mark.parametrize(
    ("qa_status", "qa_body", "message"),
    [
        (500, b'{"title": "boom"}', "answered 500"),
        (401, b'{"title": "unauthorized"}', "answered 401"),
        (200, json.dumps({"answer": "Lyon"}).encode(), "without"),
        (200, json.dumps(GOOD_ANSWER | {"start": 0}).encode(), "does not match"),
    ],
)
def test_smoke_test_fails_on_a_bad_answer(
    http_server: Any, qa_status: int, qa_body: bytes, message: str
) -> None:
    base = http_server(
        {("GET", "/health/ready"): reply(200, b"{}"), ("POST", "/qa"): reply(qa_status, qa_body)}
    )
    result = smoke(base)
    assert result.returncode != 0
    assert message in result.stderr


def test_smoke_test_fails_when_the_server_never_gets_ready(http_server: Any) -> None:
    base = http_server({("GET", "/health/ready"): reply(503, b'{"status": "loading"}')})
    result = smoke(base, ROAD_TEST_READY_TIMEOUT_S="1")
    assert result.returncode != 0
    assert "/health/ready not ready" in result.stderr
