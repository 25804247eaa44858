"""cardgen.workers: the build's pool of forked workers."""

from __future__ import annotations

import os
import signal

import pytest

from cardgen.workers import ForkPool, WorkerDied

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="workers are forked")


def square(x: int) -> int:
    return x * x


def pid(_: int) -> int:
    return os.getpid()


def fails(x: int) -> int:
    raise ValueError(f"bad {x}")


class TwoArgs(Exception):
    def __init__(self, a: str, b: int) -> None:  # unpickling calls TwoArgs(a) and fails
        super().__init__(a)
        self.b = b


def fails_oddly(x: int) -> int:
    raise TwoArgs("odd", x)


def dies(_: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return 0


def test_every_job_comes_back_with_its_tag():
    with ForkPool(2) as pool:
        for i in range(20):
            pool.submit(("job", i), square, i)
        got = dict(pool.next() for _ in range(20))
        assert pool.idle == [0, 1]
    assert got == {("job", i): i * i for i in range(20)}


def test_jobs_run_in_other_processes_and_both_workers_are_used():
    with ForkPool(2) as pool:
        for i in range(40):
            pool.submit(i, pid, i)
        pids = {pool.next()[1] for _ in range(40)}
    assert os.getpid() not in pids and len(pids) == 2


_KEPT: dict[str, int] = {}


def keep(value: int) -> int:
    _KEPT["value"] = value  # in the worker's memory only
    return os.getpid()


def kept(_: int) -> tuple[str, int]:
    return "kept", _KEPT["value"]


def sent(value: int) -> tuple[str, int]:
    return "sent", value


def sleep_then_pid(seconds: float) -> int:
    import time

    time.sleep(seconds)
    return os.getpid()


def test_a_job_runs_on_the_worker_it_prefers_when_that_worker_is_free():
    with ForkPool(2) as pool:
        pool.submit("keep", keep, 7)
        tag, keeper, index = pool.next_from()
        for i in range(6):
            pool.submit(i, kept, i, prefer=index, elsewhere=(sent, (7,)))
        results = {}
        for _ in range(6):
            tag, value, ran_on = pool.next_from()
            results[tag] = (value, ran_on)
    # the idle worker takes a job rather than wait; the one it takes runs `elsewhere`
    assert {value for value, ran_on in results.values() if ran_on == index} <= {("kept", 7)}
    assert {value for value, ran_on in results.values() if ran_on != index} <= {("sent", 7)}
    assert any(ran_on == index for _, ran_on in results.values())


def test_an_idle_worker_takes_a_job_that_prefers_a_busy_one():
    with ForkPool(2) as pool:
        pool.submit("slow", sleep_then_pid, 1.0)  # worker 0
        pool.submit("quick", pid, 0, prefer=0)
        assert pool.idle == []  # worker 1 took it: it ran instead of waiting
        done = dict(pool.next() for _ in range(2))
    assert done["slow"] != done["quick"]


def test_each_job_goes_to_the_idle_worker_it_prefers():
    with ForkPool(2) as pool:
        # queued while both are idle, the job for worker 1 first: neither is swapped
        pool.submit("for1", pid, 0, prefer=1, elsewhere=(sent, (-1,)))
        pool.submit("for0", pid, 0, prefer=0, elsewhere=(sent, (-1,)))
        ran = {}
        for _ in range(2):
            tag, value, index = pool.next_from()
            ran[tag] = (value, index)
    assert ran["for1"][1] == 1 and ran["for0"][1] == 0
    assert all(value != ("sent", -1) for value, _ in ran.values())


def unpicklable(_: object) -> int:
    return 0


def test_a_job_that_will_not_pickle_raises_in_turn_and_loses_no_result():
    with ForkPool(1) as pool:
        pool.submit("slow", sleep_then_pid, 0.3)
        pool.submit("bad", unpicklable, lambda: None)  # a lambda does not pickle
        pool.submit("good", square, 5)
        first = pool.next()  # the slow job's result is not lost
        assert first[0] == "slow"
        with pytest.raises(Exception, match="pickle|lambda"):
            pool.next()
        assert pool.next() == ("good", 25)  # and the pool goes on


def test_a_job_s_exception_is_raised_in_the_parent_and_the_pool_goes_on():
    with ForkPool(2) as pool:
        pool.submit("bad", fails, 3)
        with pytest.raises(ValueError, match="bad 3"):
            pool.next()
        pool.submit("good", square, 4)
        assert pool.next() == ("good", 16)


def test_an_exception_that_does_not_unpickle_comes_back_as_its_text():
    with ForkPool(1) as pool:
        pool.submit("odd", fails_oddly, 5)
        with pytest.raises(RuntimeError, match="TwoArgs: odd"):
            pool.next()


def test_a_worker_that_dies_is_an_error_not_a_hang():
    with pytest.raises(WorkerDied), ForkPool(2) as pool:
        pool.submit("dies", dies, 0)
        pool.next()


def test_leaving_the_pool_ends_its_workers():
    with ForkPool(2) as pool:
        pool.submit(0, pid, 0)
        pool.submit(1, pid, 1)
        pids = [pool.next()[1], pool.next()[1]]
    for p in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(p, os.WNOHANG)  # already reaped by the pool
    with pytest.raises(RuntimeError, match="no job"), ForkPool(1) as idle:
        idle.next()


def test_messages_of_any_size_cross_a_pipe_whole_and_in_order() -> None:
    import threading

    from cardgen.workers import _Reader, _write_all

    # larger than a pipe's buffer and than the reader's first buffer, then small again
    # (read into the grown buffer), then a string that is not ASCII
    messages = [b"x", os.urandom(3 << 20), list(range(1000)), "é" * 70_000, None]
    read_end, write_end = os.pipe()

    def send() -> None:
        import pickle

        for m in messages:
            _write_all(write_end, pickle.dumps(m))
        os.close(write_end)

    sender = threading.Thread(target=send)
    sender.start()
    reader = _Reader()
    try:
        assert [reader.message(read_end) for _ in messages] == messages
        with pytest.raises(EOFError):
            reader.message(read_end)
    finally:
        sender.join()
        os.close(read_end)


def big(size: int) -> bytes:
    return b"r" * size


def test_ready_says_whether_a_result_waits():
    import time

    with ForkPool(1) as pool:
        assert not pool.ready()  # no job at all
        pool.submit("slow", sleep_then_pid, 0.5)
        assert not pool.ready()
        deadline = time.monotonic() + 10
        while not pool.ready() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pool.ready()
        assert pool.next()[0] == "slow"
        assert not pool.ready()


def test_with_ahead_a_busy_worker_is_sent_the_next_job_it_prefers():
    """Both workers busy: the job that prefers worker 0 is sent to it at once, so it runs
    there even though worker 1 is free first. Without `ahead`, worker 1 takes it."""
    for ahead, expected in ((1, ("kept", 7)), (0, ("sent", 7))):
        with ForkPool(2, ahead=ahead) as pool:
            pool.submit("keep", keep, 7, prefer=0)
            assert pool.next_from()[2] == 0
            pool.submit("slow", sleep_then_pid, 0.5, prefer=0)
            pool.submit("quick", pid, 0, prefer=1)
            pool.submit("next", kept, 0, prefer=0, elsewhere=(sent, (7,)))
            results = {}
            for _ in range(3):
                tag, value, ran_on = pool.next_from()
                results[tag] = (value, ran_on)
            assert list(results)[0] == "quick"
            assert results["next"] == (expected, 0 if ahead else 1), ahead
            assert results["slow"][1] == 0


def test_a_job_too_big_for_the_pipe_waits_for_its_worker_instead_of_going_ahead():
    """Were a job larger than the worker's pipe written while it is busy, the parent would
    wait on the worker while the worker waits to hand back its large result."""
    import signal as signals

    def timeout(*_: object) -> None:
        raise TimeoutError("the pool hangs")

    old = signals.signal(signals.SIGALRM, timeout)
    signals.alarm(30)
    try:
        with ForkPool(1, ahead=1) as pool:
            pool.submit("first", big, 4 << 20, prefer=0)
            pool.submit("second", len, b"x" * (4 << 20), prefer=0)
            assert pool.next() == ("first", b"r" * (4 << 20))
            assert pool.next() == ("second", 4 << 20)
    finally:
        signals.alarm(0)
        signals.signal(signals.SIGALRM, old)


def test_after_finish_each_worker_exits_once_its_last_job_is_done():
    """`finish`: the jobs still queued are run, every result comes back, and each worker
    exits on its own after its last job, before the pool is closed; no job is taken after."""
    import time

    with ForkPool(2, ahead=1) as pool:
        for i in range(6):
            pool.submit(i, sleep_then_pid, 0.05, prefer=i % 2)
        pool.finish()
        with pytest.raises(RuntimeError, match="after finish"):
            pool.submit("late", pid, 0)
        results = dict(pool.next() for _ in range(6))
        assert sorted(results) == list(range(6))
        workers = set(results.values())
        assert len(workers) == 2
        deadline = time.monotonic() + 10
        exited: set[int] = set()
        while exited != workers and time.monotonic() < deadline:
            for p in workers - exited:
                if os.waitid(os.P_PID, p, os.WEXITED | os.WNOHANG | os.WNOWAIT):
                    exited.add(p)  # exited (left to the pool to reap)
            time.sleep(0.01)
        assert exited == workers  # while the pool is still open
    for p in workers:
        with pytest.raises(ChildProcessError):
            os.waitpid(p, os.WNOHANG)  # reaped by the pool as it closed
