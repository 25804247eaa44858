"""A small pool of forked worker processes, fed one job at a time over pipes.

The build's jobs are module-level functions whose results are plain data. Forked workers
inherit the parent's loaded modules and caches instead of importing again. This does
what the build needs from ``multiprocessing.Pool`` with less of the standard library:
importing ``multiprocessing.pool`` alone cost a default-deck build about 13 ms, and its
three helper threads took the GIL from the parent while it wrote the deck.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

_HEADER = struct.Struct("<Q")  # the length of the pickled message that follows
_FIRST_BUFFER = 1 << 16


class WorkerDied(RuntimeError):
    """A worker process ended without sending its job's result."""


def _write_all(fd: int, data: bytes) -> None:
    # the header and the message in one call, without joining them first (a render
    # job's notes are megabytes)
    header = _HEADER.pack(len(data))
    sent = os.writev(fd, [header, data])
    while sent < len(header):  # a pipe took part of the header only
        sent += os.write(fd, header[sent:])
    view = memoryview(data)[sent - len(header):]
    while view:
        view = view[os.write(fd, view):]


class _Reader:
    """Messages from one pipe, read into one buffer kept between messages: a fresh
    buffer per message (and joining the reads) touched fresh memory for every
    megabyte of notes, which costs more than reading them."""

    def __init__(self) -> None:
        self._buffer = bytearray(_FIRST_BUFFER)

    def _fill(self, fd: int, size: int) -> memoryview | None:
        """`size` bytes from `fd` in the buffer, or None at end of file."""
        if size > len(self._buffer):
            self._buffer = bytearray(max(size, 2 * len(self._buffer)))
        view = memoryview(self._buffer)[:size]
        got = 0
        while got < size:
            n = os.readv(fd, [view[got:]])
            if not n:
                return None
            got += n
        return view

    def message(self, fd: int) -> Any:
        header = self._fill(fd, _HEADER.size)
        if header is None:
            raise EOFError
        body = self._fill(fd, _HEADER.unpack(header)[0])
        if body is None:
            raise EOFError
        with body:
            return pickle.loads(body)


def _serve(tasks: int, results: int) -> None:
    """A worker's life: run each job it is sent, send back its result or its exception."""
    # Ctrl-C reaches the whole process group: only the parent handles it (and ends the
    # workers), so a worker prints no traceback; SIGTERM ends it at once.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    reader = _Reader()
    while True:
        try:
            function, args = reader.message(tasks)
        except EOFError:
            return
        try:
            reply: tuple[bool, Any] = (True, function(*args))
        except Exception as error:  # noqa: BLE001 - handed to the parent, which raises it
            reply = (False, error)
        try:
            data = pickle.dumps(reply, pickle.HIGHEST_PROTOCOL)
            if not reply[0]:
                pickle.loads(data)  # an exception must come back whole in the parent
        except Exception:  # noqa: BLE001 - one that does not pickle: its text does
            error = reply[1]
            data = pickle.dumps((False, RuntimeError(f"{type(error).__name__}: {error}")))
        _write_all(results, data)


@dataclass
class _Worker:
    pid: int
    tasks: int  # the parent's end of the pipe that carries jobs
    results: int  # the parent's end of the pipe that carries results
    job: Hashable | None = field(default=None)  # the tag of the job it runs
    reader: _Reader = field(default_factory=_Reader)


class ForkPool:
    """``count`` workers forked now, numbered from 0. ``submit`` queues a job; ``next``
    waits for any job to finish and returns its tag and result, or raises the exception
    it raised (a job whose call will not pickle raises there too, in its turn). Jobs
    start in the order they were queued, one per idle worker; a job may prefer a worker
    (one whose memory already holds what the job needs), and waits for it while it is
    busy, unless every queued job does so: then an idle worker takes the first job
    rather than wait. Use it as a context manager: leaving ends the workers (at once, if
    leaving on an exception)."""

    def __init__(self, count: int) -> None:
        self._workers: list[_Worker] = []
        # tag, (function, args), the worker it prefers, what any other worker runs instead
        self._queue: deque[tuple[Hashable, tuple[Any, ...], int | None,
                                 tuple[Any, ...] | None]] = deque()
        self._failed: list[Exception] = []  # jobs whose call would not pickle
        try:
            for _ in range(count):
                self._fork()
        except BaseException:
            self.terminate()
            raise

    def _fork(self) -> None:
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            try:
                for other in self._workers:  # or their workers would never see end of file
                    os.close(other.tasks)
                    os.close(other.results)
                os.close(task_w)
                os.close(result_r)
                _serve(task_r, result_w)
            finally:
                os._exit(0)  # never the parent's exit handlers or buffered output
        os.close(task_r)
        os.close(result_w)
        self._workers.append(_Worker(pid, task_w, result_r))

    def __enter__(self) -> ForkPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.close()
        else:
            self.terminate()

    @property
    def idle(self) -> list[int]:
        """The workers with no job (no job waits while one is idle)."""
        return [i for i, w in enumerate(self._workers) if w.job is None]

    def submit(self, tag: Hashable, function: Callable[..., Any], *args: Any,
               prefer: int | None = None,
               elsewhere: tuple[Callable[..., Any], tuple[Any, ...]] | None = None) -> None:
        """Queue ``function(*args)``. With ``prefer``, a job that another worker takes
        runs ``elsewhere`` (a function and its arguments) instead, when given: what the
        preferred worker holds in memory, another must be sent."""
        self._queue.append((tag, (function, args), prefer, elsewhere))
        self._dispatch()

    def _dispatch(self) -> None:
        while self._queue:
            idle = [i for i, w in enumerate(self._workers) if w.job is None]
            if not idle:
                return
            # the first job that an idle worker it prefers (or any, for a job that
            # prefers none) can take; when every queued job prefers a busy worker, the
            # first job goes to an idle one rather than wait
            pick = next((i for i, job in enumerate(self._queue)
                         if job[2] is None or job[2] in idle), None)
            if pick is None:
                self._start(0, idle[0])
            else:
                prefer = self._queue[pick][2]
                self._start(pick, idle[0] if prefer is None else prefer)

    def _start(self, pick: int, index: int) -> None:
        tag, call, prefer, elsewhere = self._queue[pick]
        del self._queue[pick]
        if prefer not in (None, index) and elsewhere is not None:
            call = elsewhere
        try:  # pickled only now: a job runs one of its two calls
            data = pickle.dumps(call, pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # noqa: BLE001 - raised by next(), in its turn
            self._failed.append(error)
            return
        self._workers[index].job = tag
        _write_all(self._workers[index].tasks, data)

    def next(self) -> tuple[Hashable, Any]:
        """The tag and result of the next job to finish (raises what the job raised)."""
        tag, value, _ = self.next_from()
        return tag, value

    def next_from(self) -> tuple[Hashable, Any, int]:
        """``next``, and the number of the worker that ran the job."""
        if self._failed:  # a job that could not be sent to a worker
            raise self._failed.pop(0)
        busy = {w.results: i for i, w in enumerate(self._workers) if w.job is not None}
        if not busy:
            raise RuntimeError("no job is running")
        ready, _, _ = select.select(list(busy), [], [])
        index = busy[ready[0]]
        worker = self._workers[index]
        tag, worker.job = worker.job, None
        try:
            ok, value = worker.reader.message(worker.results)
        except EOFError:
            raise WorkerDied(f"a build worker (pid {worker.pid}) stopped") from None
        self._dispatch()
        if not ok:
            raise value
        return tag, value, index

    def close(self) -> None:
        """End of jobs: each worker sees end of file and exits; wait for them."""
        for worker in self._workers:
            os.close(worker.tasks)
        for worker in self._workers:
            os.waitpid(worker.pid, 0)
            os.close(worker.results)
        self._workers.clear()

    def terminate(self) -> None:
        for worker in self._workers:
            try:
                os.kill(worker.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for worker in self._workers:
            os.waitpid(worker.pid, 0)
            os.close(worker.tasks)
            os.close(worker.results)
        self._workers.clear()
