"""The parsing sandbox: documents are parsed and chunked in worker processes, one document at a time in each,
under a CPU-time limit and a memory limit, so that a hostile file fails alone and never weighs on the process
that serves searches.

    >>> sandbox = Sandbox(2, SandboxLimits(cpu_seconds=30, memory_bytes=1 << 30), setup, setup_arg)
    >>> sandbox.run("report.pdf", prepare, job)   # prepare(job), computed in a worker

A worker is a plain `python -c` child holding one end of a pipe (no multiprocessing machinery, so no resource
tracker to outlive anyone). It dies with its parent: PR_SET_PDEATHSIG on Linux, and a watchdog thread that
sees the parent process go, everywhere. Its limits:
- time: before each document RLIMIT_CPU is set to the CPU time used so far plus the limit, and past it the
  kernel ends the worker with SIGXCPU; a wall-clock bound (a multiple of the CPU limit) ends one that waits.
- memory: RLIMIT_AS is set once, to the worker's address space after start-up plus the limit, so an
  allocation past it fails; the worker reports it and exits.
A worker that reached a limit is replaced, and its document fails with `DocumentTooComplex` (time) or
`DocumentTooLarge` (memory), whose message names the limit and its setting.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import traceback
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

from lore.core.parsers import amount
from lore.errors import CorruptDocument, DocumentTooComplex, DocumentTooLarge, LoreError, Unavailable

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")

WALL_FACTOR = 5.0  # a worker may take this many times its CPU limit in wall-clock time (the cores are shared)
WALL_GRACE = 30.0
START_SECONDS = 120.0  # a worker that has not finished starting by then is not coming
_WATCH_SECONDS = 0.5
_STOP_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_WORKER = "from lore.core.sandbox import serve; serve()"
_WORKER_ENV = {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}

# Replies from a worker: (kind, value).
_READY, _OK, _FAILED, _CRASHED, _OUT_OF_MEMORY = "ready", "ok", "failed", "crashed", "out-of-memory"
# What the parent concludes when no reply came.
_TIMED_OUT, _DIED = "timed-out", "died"


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """Per document: CPU seconds (`LORE_PARSE_CPU_SECONDS`) and bytes of memory (`LORE_PARSE_MEMORY_BYTES`)."""

    cpu_seconds: float
    memory_bytes: int
    wall_seconds: float | None = None  # default: WALL_FACTOR * cpu_seconds + WALL_GRACE

    @property
    def wall(self) -> float:
        return self.wall_seconds or WALL_FACTOR * self.cpu_seconds + WALL_GRACE


@dataclass(frozen=True, slots=True)
class _Setup(Generic[S]):
    """What a worker receives once, after its import path: its limits and the initializer of its state."""

    limits: SandboxLimits
    initializer: Callable[[S], None]
    argument: S


class Sandbox:
    """Up to `workers` worker processes, started when first needed and kept for the next documents.

    `setup(setup_arg)` runs once in each worker (both must pickle, the function by reference); `close()` stops
    them. Thread-safe: each call takes a worker of its own, waiting for one when all are busy.
    """

    def __init__(self, workers: int, limits: SandboxLimits, setup: Callable[[S], None], setup_arg: S) -> None:
        self.workers = max(1, workers)
        self.limits = limits
        self._setup = _Setup(limits, setup, setup_arg)
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._turns = threading.BoundedSemaphore(self.workers)
        self._closed = False
        # PR_SET_PDEATHSIG fires when the *thread* that started a worker ends: one long-lived thread starts them.
        self._starter = ThreadPoolExecutor(1, thread_name_prefix="lore-sandbox-starter")
        # A sandbox dropped without close(), or still open at exit, stops its workers all the same.
        self._stop = weakref.finalize(self, _stop_workers, self._idle, self._starter)

    def run(self, name: str, task: Callable[[T], R], arg: T) -> R:
        """`task(arg)` computed in a worker; its LoreError is raised here, and so is a limit's (naming `name`)."""
        with self._turns:
            worker = self._take()
            try:
                kind, value = worker.call(task, arg, self.limits.wall)
            except BaseException:  # the task or its argument would not pickle
                worker.stop(kill=True)
                raise
            if kind in (_OK, _FAILED, _CRASHED):
                self._give_back(worker)
            else:
                worker.stop(kill=kind == _TIMED_OUT)
            return _outcome(name, kind, value, worker, self.limits)

    def map(
        self, task: Callable[[T], R], items: Iterable[T], name: Callable[[T], str]
    ) -> Iterator[R | LoreError]:
        """Each item's result, or the LoreError it failed with, in order; `workers` items at a time."""
        with ThreadPoolExecutor(self.workers, thread_name_prefix="lore-sandbox-map") as threads:
            pending: deque[Future[R | LoreError]] = deque()
            for item in items:
                pending.append(threads.submit(self._attempt, task, item, name(item)))
                if len(pending) > 2 * self.workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def close(self) -> None:
        """Stop the idle workers; busy ones stop when their document is done."""
        with self._lock:
            self._closed = True
        self._stop()

    def _attempt(self, task: Callable[[T], R], item: T, name: str) -> R | LoreError:
        try:
            return self.run(name, task, item)
        except LoreError as error:
            return error

    def _take(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise Unavailable("the parsing sandbox is closed")
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    return worker
                worker.stop()
            launching = self._starter.submit(_Worker.launch, self._setup)
        worker = launching.result()
        worker.await_ready()
        return worker

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(worker)
                return
        worker.stop()


def _stop_workers(idle: list[_Worker], starter: ThreadPoolExecutor) -> None:
    while idle:
        idle.pop().stop()
    starter.shutdown(wait=False)  # it may be this very thread that drops the sandbox


def _outcome(name: str, kind: str, value: Any, worker: _Worker, limits: SandboxLimits) -> Any:
    """The value of a reply, or the error it stands for."""
    if kind == _OK:
        return value
    if kind == _FAILED:
        error_type, message, details = value
        raise error_type(message, details=details)
    if kind == _CRASHED:
        raise CorruptDocument(f"{name}: the document could not be processed", details={"filename": name})
    if kind == _TIMED_OUT or worker.returncode == -signal.SIGXCPU:
        raise _too_complex(name, limits, timed_out=kind == _TIMED_OUT)
    raise _too_large(name, limits, reported=kind == _OUT_OF_MEMORY)


def _too_complex(name: str, limits: SandboxLimits, *, timed_out: bool) -> DocumentTooComplex:
    limit = f"the CPU-time limit of {limits.cpu_seconds:g} s (LORE_PARSE_CPU_SECONDS)"
    what = (
        f"did not finish within {limits.wall:g} s, the wall-clock bound of" if timed_out else "took more than"
    )
    return DocumentTooComplex(
        f"{name}: parsing {what} {limit}",
        details={"filename": name, "limit": limits.cpu_seconds, "setting": "LORE_PARSE_CPU_SECONDS"},
    )


def _too_large(name: str, limits: SandboxLimits, *, reported: bool) -> DocumentTooLarge:
    how = "needed more memory than" if reported else "stopped abnormally, most likely at"
    return DocumentTooLarge(
        f"{name}: parsing {how} the memory limit of {amount(limits.memory_bytes)} (LORE_PARSE_MEMORY_BYTES)",
        details={"filename": name, "limit": limits.memory_bytes, "setting": "LORE_PARSE_MEMORY_BYTES"},
    )


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, process: subprocess.Popen[bytes], conn: Connection) -> None:
        self.process = process
        self.conn = conn

    @classmethod
    def launch(cls, setup: _Setup[Any]) -> _Worker:
        ours, theirs = Pipe()
        command = [sys.executable, "-c", _WORKER, str(theirs.fileno()), str(os.getpid())]
        process = subprocess.Popen(  # stdout is the parent's to print results on; stderr is shared
            command,
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env={**os.environ, **_WORKER_ENV},
        )
        theirs.close()
        ours.send(sys.path)
        ours.send(setup)
        return cls(process, ours)

    def await_ready(self) -> None:
        with contextlib.suppress(EOFError, OSError):
            if self.conn.poll(START_SECONDS) and self.conn.recv() == (_READY, None):
                return
        self.stop()
        raise Unavailable(f"a parsing worker failed to start (exit status {self.returncode})")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def call(self, task: Callable[[Any], Any], arg: Any, wall: float) -> tuple[str, Any]:
        try:
            self.conn.send((task, arg))
            if not self.conn.poll(wall):
                return _TIMED_OUT, None
            reply: tuple[str, Any] = self.conn.recv()
        except (EOFError, OSError):
            return _DIED, None
        return reply

    def stop(self, *, kill: bool = False) -> None:
        """End the worker: it holds nothing worth waiting for (SIGTERM lets a coverage run save its data)."""
        self.conn.close()
        if kill:
            self.process.kill()
        elif self.alive:
            self.process.terminate()
        try:
            self.process.wait(_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- the worker process ------------------------------------------------------------------------------------------


def serve() -> None:
    """A worker's life: set up, then compute one task at a time until the pipe closes or the parent goes."""
    fd, parent = int(sys.argv[1]), int(sys.argv[2])
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    with Connection(fd) as conn:
        sys.path[:] = conn.recv()
        setup: _Setup[Any] = conn.recv()
        setup.initializer(setup.argument)
        _limit_memory(setup.limits.memory_bytes)
        conn.send((_READY, None))
        while _serve_one(conn, setup.limits):
            pass


def _serve_one(conn: Connection, limits: SandboxLimits) -> bool:
    """Compute one task and reply; False when the worker should exit."""
    try:
        task, arg = conn.recv()
    except EOFError:
        return False
    _limit_cpu(limits.cpu_seconds)
    try:
        reply: tuple[str, Any] = (_OK, task(arg))
    except LoreError as error:
        reply = (_FAILED, (type(error), error.message, error.details))
    except MemoryError:
        reply = (_OUT_OF_MEMORY, None)
    except Exception:  # a bug in a task fails its document, visibly, and the worker goes on
        traceback.print_exc()
        reply = (_CRASHED, None)
    try:
        conn.send(reply)
    except MemoryError:  # the result itself is too large to send
        reply = (_OUT_OF_MEMORY, None)
        conn.send(reply)
    return reply[0] != _OUT_OF_MEMORY


def _die_with(parent: int) -> None:
    """End this process when `parent` ends, even by SIGKILL; and never write a core file of a document."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    if os.getppid() != parent:  # it went before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="lore-parent-watch", daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_WATCH_SECONDS)
    os._exit(1)


def _limit_memory(extra: int) -> None:
    """Allow the address space this process has now, plus `extra` bytes (where /proc tells its size)."""
    try:
        with open("/proc/self/statm") as statm:  # noqa: PTH123 -- a Linux interface, read once
            pages = int(statm.read().split()[0])
    except OSError:
        return
    wanted = pages * resource.getpagesize() + extra
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(
        resource.RLIMIT_AS, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard)
    )


def _limit_cpu(seconds: float) -> None:
    """Allow the CPU time used so far plus `seconds`; the kernel sends SIGXCPU past it."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(
        resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard)
    )
