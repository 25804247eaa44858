"""A small pool of forked worker processes, fed one job at a time over pipes.

The build's jobs are module-level functions whose results are plain data. Forked workers
inherit the parent's loaded modules and caches instead of importing again. This does
what the build needs from ``multiprocessing.Pool`` with less of the standard library:
importing ``multiprocessing.pool`` alone cost a default-deck build about 13 ms, and its
three helper threads took the GIL from the parent while it wrote the deck.
"""

from __future__ import annotations

import fcntl
import gc
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
_PIPE_SIZE = 1 << 20
_POSIX_PIPE_BUF = 512


def _widen(fd: int) -> int:
    """Let the pipe hold a whole render job's notes where the system allows (Linux: up
    to /proc/sys/fs/pipe-max-size, 1 MiB by default): a worker writing a result larger
    than the pipe waits for the parent to read each piece. Returns the bytes it holds."""
    try:
        return fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    except (AttributeError, OSError):  # not Linux, or over the limit
        pass
    try:
        return fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
    except (AttributeError, OSError):
        return _POSIX_PIPE_BUF  # all a pipe is sure to hold


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
    # What the worker inherited (modules, caches) is not its garbage: left out of its
    # collections, which would otherwise go through all of it again, and write to each
    # object's header, copying every page of the parent's heap.
    gc.freeze()
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
    tasks: int  # the parent's end of the pipe that carries jobs (-1 once ended)
    results: int  # the parent's end of the pipe that carries results
    room: int  # bytes its task pipe holds
    jobs: deque[Hashable] = field(default_factory=deque)  # tags of the jobs sent, in order
    sent: int = 0  # the size of the last job's message
    reader: _Reader = field(default_factory=_Reader)


@dataclass
class _Job:
    tag: Hashable
    call: tuple[Any, ...]  # (function, args)
    prefer: int | None  # the worker whose memory holds what the job needs
    elsewhere: tuple[Any, ...] | None  # the call any other worker runs instead
    data: bytes | None = None  # `call` pickled, once it has been


class ForkPool:
    """``count`` workers forked now, numbered from 0. ``submit`` queues a job; ``next``
    waits for any job to finish and returns its tag and result, or raises the exception
    it raised (a job whose call will not pickle raises there too, in its turn). Jobs
    start in the order they were queued, one per idle worker; a job may prefer a worker
    (one whose memory already holds what the job needs), and waits for it while it is
    busy, unless every queued job does so: then an idle worker takes the first job
    rather than wait. With ``ahead``, a busy worker is also sent up to that many of the
    jobs that prefer it, to start as soon as it finishes, without waiting for the
    parent to read its result (only jobs small enough to sit in its pipe unread). Use
    it as a context manager: leaving ends the workers (at once, if leaving on an
    exception)."""

    def __init__(self, count: int, ahead: int = 0) -> None:
        self._workers: list[_Worker] = []
        self._ahead = ahead
        self._queue: deque[_Job] = deque()
        self._failed: list[Exception] = []  # jobs whose call would not pickle
        self._finishing = False  # no more jobs come: end each pipe once the queue is sent
        try:
            for _ in range(count):
                self._fork()
        except BaseException:
            self.terminate()
            raise

    def _fork(self) -> None:
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        _widen(result_w)
        room = _widen(task_w)
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
        self._workers.append(_Worker(pid, task_w, result_r, room))

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
        return [i for i, w in enumerate(self._workers) if not w.jobs]

    def submit(self, tag: Hashable, function: Callable[..., Any], *args: Any,
               prefer: int | None = None,
               elsewhere: tuple[Callable[..., Any], tuple[Any, ...]] | None = None) -> None:
        """Queue ``function(*args)``. With ``prefer``, a job that another worker takes
        runs ``elsewhere`` (a function and its arguments) instead, when given: what the
        preferred worker holds in memory, another must be sent."""
        if self._finishing:
            raise RuntimeError("submit after finish")
        self._queue.append(_Job(tag, (function, args), prefer, elsewhere))
        self._dispatch()

    def _dispatch(self) -> None:
        self._start_queued()
        if self._finishing and not self._queue:
            self._end_jobs()

    def _start_queued(self) -> None:
        while self._queue:
            idle = self.idle
            # the first job that an idle worker it prefers (or any, for a job that
            # prefers none) can take; when every queued job prefers a busy worker, the
            # first job goes to an idle one rather than wait
            pick = next((i for i, job in enumerate(self._queue)
                         if job.prefer in idle or (job.prefer is None and idle)), None)
            if pick is not None:
                prefer = self._queue[pick].prefer
                self._start(pick, idle[0] if prefer is None else prefer)
            elif idle:
                self._start(0, idle[0])
            elif not self._send_ahead():
                return

    def _send_ahead(self) -> bool:
        """Send the first queued job that can wait in the pipe of the busy worker it
        prefers; whether one was sent."""
        for i, job in enumerate(self._queue):
            if job.prefer is None or not 0 <= job.prefer < len(self._workers):
                continue
            worker = self._workers[job.prefer]
            if len(worker.jobs) > self._ahead:
                continue
            if job.data is None:
                try:
                    job.data = pickle.dumps(job.call, pickle.HIGHEST_PROTOCOL)
                except Exception:  # noqa: BLE001 - _start raises it in turn
                    continue
            # its pipe holds at most the unread rest of the last job's message and this
            # one: written whole now, the parent never waits on a worker that is busy
            # (and may itself be waiting to hand back a result)
            if _HEADER.size * 2 + worker.sent + len(job.data) <= worker.room:
                self._start(i, job.prefer)
                return True
        return False

    def _start(self, pick: int, index: int) -> None:
        job = self._queue[pick]
        del self._queue[pick]
        call, data = job.call, job.data
        if job.prefer not in (None, index) and job.elsewhere is not None:
            call, data = job.elsewhere, None
        if data is None:
            try:  # pickled only now: a job runs one of its two calls
                data = pickle.dumps(call, pickle.HIGHEST_PROTOCOL)
            except Exception as error:  # noqa: BLE001 - raised by next(), in its turn
                self._failed.append(error)
                return
        worker = self._workers[index]
        worker.jobs.append(job.tag)
        worker.sent = len(data)
        _write_all(worker.tasks, data)

    def ready(self) -> bool:
        """Whether a job has finished whose result ``next`` would return without waiting
        (a caller with other work reads results early: a worker waits while its result
        fills the pipe, and gets no new job until it is read)."""
        busy = [w.results for w in self._workers if w.jobs]
        return bool(self._failed) or bool(busy and select.select(busy, [], [], 0)[0])

    def next(self) -> tuple[Hashable, Any]:
        """The tag and result of the next job to finish (raises what the job raised)."""
        tag, value, _ = self.next_from()
        return tag, value

    def next_from(self) -> tuple[Hashable, Any, int]:
        """``next``, and the number of the worker that ran the job."""
        if self._failed:  # a job that could not be sent to a worker
            raise self._failed.pop(0)
        busy = {w.results: i for i, w in enumerate(self._workers) if w.jobs}
        if not busy:
            raise RuntimeError("no job is running")
        ready, _, _ = select.select(list(busy), [], [])
        index = busy[ready[0]]
        worker = self._workers[index]
        tag = worker.jobs.popleft()
        try:
            ok, value = worker.reader.message(worker.results)
        except EOFError:
            raise WorkerDied(f"a build worker (pid {worker.pid}) stopped") from None
        self._dispatch()
        if not ok:
            raise value
        return tag, value, index

    def finish(self) -> None:
        """No more jobs will be submitted: once the last queued job is sent, every worker
        sees end of file after its last job and exits then, while the caller still reads
        the last results, instead of when the pool is closed (a worker's exit, its memory
        handed back, took the parent 2-3 ms of waiting at the end of a default deck)."""
        self._finishing = True
        self._dispatch()

    def _end_jobs(self) -> None:
        for worker in self._workers:
            if worker.tasks >= 0:
                os.close(worker.tasks)
                worker.tasks = -1

    def close(self) -> None:
        """End of jobs: each worker sees end of file and exits; wait for them."""
        self._end_jobs()
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
        self._end_jobs()
        for worker in self._workers:
            os.waitpid(worker.pid, 0)
            os.close(worker.results)
        self._workers.clear()
