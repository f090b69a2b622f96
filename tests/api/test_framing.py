"""HTTP framing against a real `lore serve`, over raw sockets: request heads have a size, a number of headers and
a time they must fit in, bodies a pause they must not exceed, and idle connections never crowd out a request."""

from __future__ import annotations

import contextlib
import json
import select
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.served import ServedLore, read_all, serve_env

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
MAX_HEADER_BYTES = 16 * 1024
MAX_HEADERS = 50
PATIENCE = 30.0  # a read that waits this long means the server never answered or closed


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[ServedLore]:
    root = tmp_path_factory.mktemp("framing")
    env = serve_env(
        root / "data",
        model_cache,
        header_timeout_seconds=str(HEADER_TIMEOUT),
        body_timeout_seconds=str(BODY_TIMEOUT),
        max_header_bytes=str(MAX_HEADER_BYTES),
        max_header_count=str(MAX_HEADERS),
    )
    with ServedLore(env, root) as server:
        yield server


def response_of(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, body


def error_code(body: bytes) -> str:
    return str(json.loads(body)["error"]["code"])


def send_until_refused(sock: socket.socket, pieces: Iterator[bytes]) -> int:
    """Send pieces until the server stops reading (the connection breaks); returns the bytes sent."""
    sent = 0
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        for piece in pieces:
            sock.sendall(piece)
            sent += len(piece)
    return sent


def test_a_head_over_the_size_limit_is_431_and_closed(served: ServedLore) -> None:
    with served.connect(PATIENCE) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (MAX_HEADER_BYTES + 10))
        status, headers, body = response_of(read_all(sock))
    assert (status, headers["connection"], error_code(body)) == (431, "close", "headers_too_large")


def test_a_32_mib_header_value_is_refused_long_before_its_end(served: ServedLore) -> None:
    size = 32 * 1024 * 1024
    with served.connect(PATIENCE) as sock:
        pieces = (b"a" * 65536 for _ in range(size // 65536))
        sent = send_until_refused(sock, iter([b"GET /healthz HTTP/1.1\r\nX-Big: ", *pieces]))
        answer = read_all(sock)
    assert sent < size  # the server closed the connection instead of reading on
    assert not answer or response_of(answer)[0] == 431


def test_too_many_headers_are_431(served: ServedLore) -> None:
    lines = b"".join(b"X-H%d: v\r\n" % i for i in range(MAX_HEADERS + 1))
    with served.connect(PATIENCE) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + lines + b"\r\n")
        status, _, body = response_of(read_all(sock))
    assert (status, error_code(body)) == (431, "headers_too_large")


def test_a_hundred_thousand_header_lines_are_refused(served: ServedLore) -> None:
    lines = (b"X-H%d: v\r\n" % i for i in range(100_000))
    with served.connect(PATIENCE) as sock:
        send_until_refused(sock, iter([b"GET /healthz HTTP/1.1\r\n", *lines, b"\r\n"]))
        answer = read_all(sock)
    assert not answer or response_of(answer)[0] == 431
    assert httpx.get(f"{served.url}/healthz").status_code == 200


def test_a_slow_head_is_closed_at_the_header_timeout(served: ServedLore) -> None:
    paces = int(PATIENCE / 0.2)
    with served.connect(PATIENCE) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        trickled = 0
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while trickled < paces and not select.select([sock], [], [], 0.2)[0]:
                sock.sendall(b"X")  # one header byte every 0.2 s: the slowloris pace
                trickled += 1
        status, headers, body = response_of(read_all(sock))
    assert (status, headers["connection"], error_code(body)) == (408, "close", "request_timeout")
    assert trickled < paces / 2  # closed at the timeout, long before the trickle would have ended


def test_an_idle_connection_is_closed_without_an_answer(served: ServedLore) -> None:
    with served.connect(PATIENCE) as sock:
        assert read_all(sock) == b""  # closed (a read that never ended would time out)


def test_a_body_shorter_than_its_content_length_is_408(served: ServedLore) -> None:
    head = b"POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    with served.connect(PATIENCE) as sock:
        sock.sendall(head + b'{"query": ')
        status, headers, body = response_of(read_all(sock))
    assert (status, headers["connection"], error_code(body)) == (408, "close", "request_timeout")


def test_many_idle_connections_do_not_keep_a_request_waiting(served: ServedLore) -> None:
    idle = [served.connect(PATIENCE) for _ in range(300)]
    try:
        for sock in idle[::2]:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # half of them stuck mid-head
        assert httpx.get(f"{served.url}/healthz", timeout=PATIENCE).status_code == 200
        answers = [read_all(sock) for sock in idle]  # each read ends when the server closes its connection
    finally:
        for sock in idle:
            sock.close()
    assert {response_of(answer)[0] for answer in answers[::2]} == {408}
    assert set(answers[1::2]) == {b""}
