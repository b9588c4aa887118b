"""Status sweeps: one walk over a platform's list pages tells the fleet about many jobs.

Polling job by job costs one request per job per poll; at 100,000 jobs in flight no
platform accepts that. A sweep asks the platform's list endpoint instead (each provider's
:meth:`~worker.providers.base.Provider.sweep` says which request, and how many jobs one
request covers) and then:

- hands every job it sees ended straight to finalize: the finalize step is made due at once
  in the job's record (the same hand-off a poll makes), and the dispatchers send it in
  chunks with backpressure, as any due step; detection costs no further request;
- pushes the own status request of every job it sees running ``fallback_s`` into the future,
  so per-job requests remain only as a fallback: for a job the lists have not shown for that
  long, a failing sweep, or a platform without a usable list;
- reschedules nothing else per job.

A walk stops early once it has seen every job that may have ended by now (the policy judges
that from the shortest run seen per kind): while 100,000 jobs run and a few thousand near
their end, the pages before the last of those are walked, not all of them; a walk over
every page still comes at the policy's pace.

There is one sweep per platform credential for the whole fleet: every worker process runs
a :class:`SweepThread` per platform, and a lease in Redis (``jf:sweep:{credential}``) picks
the one that sweeps; the others only renew their claim attempt. When the holder dies, its
lease runs out and another process takes over within ``LEASE_S``. When to sweep next, and
whether to walk every page, is :class:`~worker.sweep_policy.SweepPolicy`'s pure decision.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import redis

from worker import decide, keys, scripts
from worker.apply import apply_many
from worker.errors import AuthError, ConfigError
from worker.outcomes import RemoteEnded
from worker.providers.base import Provider
from worker.providers.types import Listed, RemoteStatus, Watched
from worker.runtime import Runtime
from worker.sweep_policy import SweepOutcome
from worker.sweep_watch import WatchList, match
from worker.telemetry import recorder

SWEEP_SECONDS = "jobfleet_sweep_duration_seconds"  # see worker.telemetry

log = logging.getLogger("jobfleet.sweep")

LEASE_S = 10.0  # a dead sweeper's platform is swept again by another process within this
TICK_S = 0.2  # how often a sweeper thread looks whether a sweep is due


class LeaseLost(RuntimeError):
    """Another process holds the sweep lease now (this one stalled past ``LEASE_S``)."""


class WalkClock:
    """Where one walk's time went: reading pages (the request, decoding, reading rows) and
    the rest (handing ended jobs over, the lease), against the sweeping thread's own CPU."""

    def __init__(self) -> None:
        self.started, self.cpu = time.monotonic(), time.thread_time()
        self.paging = 0.0

    def pages(self, walk: Iterable[list[Listed]]) -> Iterator[list[Listed]]:
        """``walk``'s pages, the time spent producing each one added to ``paging``."""
        pages = iter(walk)
        try:
            while True:
                began = time.monotonic()
                try:
                    rows = next(pages)
                except StopIteration:
                    return
                finally:
                    self.paging += time.monotonic() - began
                yield rows
        finally:  # a walk left early sends no further request
            close = getattr(pages, "close", None)
            if close is not None:
                close()

    def __str__(self) -> str:
        wall = time.monotonic() - self.started
        return (f"walk {wall:.2f} s (pages {self.paging:.2f} s, hand-offs "
                f"{wall - self.paging:.2f} s; sweeping thread CPU "
                f"{time.thread_time() - self.cpu:.2f} s)")


@dataclass
class SweepState:
    """The interval state a sweeper carries from one sweep to the next."""

    next_at: float = 0.0
    interval: float = 0.0
    failures: int = 0
    shortest_run: dict[str, float] = field(default_factory=dict)  # kind → seconds seen
    walked_all_at: float | None = None  # when the last walk over every page began


class Sweeper:
    """Sweeps one platform credential when this process holds its lease and a sweep is due."""

    def __init__(self, rt: Runtime, platform: str, *, rps: float | None) -> None:
        self.rt = rt
        self.store = rt.store
        self.platform = platform
        self.policy = rt.sweep_policy
        self.rps = rps
        self.lease_key = keys.sweep_lease_key(rt.credential(platform))
        self.token = f"{os.getpid()}:{uuid.uuid4().hex}"
        self._hold = rt.redis.register_script(scripts.read("hold_lease"))
        self.state = SweepState()
        self.watch = WatchList(rt.store, platform)

    def run_once(self) -> SweepOutcome | None:
        """Sweeps if this process holds the lease and a sweep is due; the outcome or None."""
        if not self._held():  # another process sweeps: start afresh if we take over, and hold
            self.state = SweepState()  # no copy of the running jobs meanwhile
            if self.watch.jobs:
                self.watch = WatchList(self.store, self.platform)
            return None
        now = self.store.clock()
        if now < self.state.next_at:
            return None
        provider = self.rt.provider(self.platform)
        watched = self.watch.refresh()
        hot = self._may_have_ended(now)
        if not watched or hot == set():  # nothing to look for yet: no request
            outcome = SweepOutcome(0, 0, watched=len(watched), arrived=self.watch.arrived)
        else:
            started = time.monotonic()
            outcome = self._sweep(provider, watched, hot, now)
            recorder.observe(SWEEP_SECONDS, time.monotonic() - started, platform=self.platform)
        self._schedule(outcome, watched)
        return outcome

    def _may_have_ended(self, now: float) -> set[str] | None:
        """The watched jobs that may have ended by ``now`` (see
        :meth:`~worker.sweep_policy.SweepPolicy.may_have_ended`), or None when this sweep
        walks every page."""
        shortest = self.state.shortest_run
        if self.policy.walks_all(now, self.state.walked_all_at, bool(shortest)):
            return None
        may = self.policy.may_have_ended
        return {job_id for job_id, job in self.watch.jobs.items()
                if may(job.since, shortest.get(job.kind), now)}

    def _sweep(self, provider: Provider, watched: list[Watched], hot: set[str] | None,
               now: float) -> SweepOutcome:
        """One walk over the pages; ended jobs go to finalize page by page. With ``hot``,
        the walk stops once every one of those jobs was seen."""
        requests = ended = 0
        running: list[str] = []
        every_page: float | None = None
        clock = WalkClock()
        if hot:  # first, for a platform whose walk follows the order it is given
            watched = [job for job in watched if self.watch.by_remote[job.remote_id] in hot] \
                + [job for job in watched if self.watch.by_remote[job.remote_id] not in hot]
        walk = clock.pages(provider.sweep(watched))
        try:
            for rows in walk:
                requests += 1
                seen = match(rows, self.watch.by_remote)
                ended += self._finalize(seen.ended)
                running += seen.running
                if not self._held():  # a long walk renews the lease page by page
                    raise LeaseLost("another process took the sweep over")
                if hot is not None:
                    hot.difference_update(seen.ended)
                    hot.difference_update(seen.running)
                    if not hot:
                        break
            else:
                self.state.walked_all_at = every_page = now
        except Exception as exc:  # noqa: BLE001 - a failed sweep is retried; nothing is lost
            log.warning("%s: sweep failed after %d page(s), retrying: %s",
                        provider.name, requests, exc)
            self._push(provider.name, running)
            return SweepOutcome(requests + 1, ended, failed=True, watched=len(watched))
        finally:
            walk.close()
        self._push(provider.name, running)
        log.info("%s: swept %d job(s) in %d request(s), %s: %d ended; %s", provider.name,
                 len(watched), requests, "every page" if every_page is not None
                 else "until those that may have ended were seen", ended, clock)
        return SweepOutcome(requests, ended, watched=len(watched), arrived=self.watch.arrived)

    def _held(self) -> bool:
        """Takes or renews this credential's sweep lease; False while another process has it."""
        return bool(self._hold(keys=[self.lease_key], args=[self.token, int(LEASE_S * 1000)]))

    def _finalize(self, ended: Mapping[str, RemoteStatus]) -> int:
        """Hands each ended job to finalize, due now: the same hand-off as a poll's.

        Not one message per page: a page can end hundreds of jobs, and the dispatchers send
        due steps in chunks, spread over the workers, while the queue has room.
        """
        now = self.store.clock()
        hand_offs = []
        for job in self.store.get_many(list(ended)):
            watched = self.watch.forget(job.id)
            if watched is not None:
                self._learn(watched, now)
            if decide.needs_poll(job):  # not ended, nor handed over, meanwhile
                hand_offs.append((job, RemoteEnded(ended[job.id], now, now)))
        return sum(done.done for done in apply_many(self.rt, hand_offs)) if hand_offs else 0

    def _push(self, provider: str, running: list[str]) -> None:
        """Jobs seen running need no own status request for another ``fallback_s``, or
        until their deadline, when the poll step must expire them."""
        at = self.store.clock() + self.policy.fallback_s
        deadlines = self.watch.deadlines
        self.store.push_due("poll", provider, [j for j in running if deadlines.get(j, at) >= at],
                            at)
        for job_id in running:
            if deadlines.get(job_id, at) < at:
                self.store.push_due("poll", provider, [job_id], deadlines[job_id])

    def _learn(self, watched: Watched, now: float) -> None:
        """Keeps the shortest run seen per kind, to expect the next completion."""
        run = max(now - watched.since, 0.0)
        shortest = self.state.shortest_run
        shortest[watched.kind] = min(shortest.get(watched.kind, run), run)

    def _schedule(self, outcome: SweepOutcome, watched: list[Watched]) -> None:
        state = self.state
        state.failures = state.failures + 1 if outcome.failed else 0
        now = self.store.clock()
        state.interval = self.policy.next_interval(
            state.interval, outcome, failures=state.failures, rps=self.rps,
            until_expected=self._until_expected(watched, now),
        )
        state.next_at = now + state.interval

    def _until_expected(self, watched: list[Watched], now: float) -> float | None:
        """Seconds until the next job may end, judged by the shortest runs seen so far."""
        shortest = self.state.shortest_run
        upcoming = [job.since + shortest[job.kind] for job in watched if job.kind in shortest]
        ahead = [at for at in upcoming if at > now]
        return min(ahead) - now if ahead else None


class SweepThread(threading.Thread):
    """Runs one platform's :class:`Sweeper` every ``TICK_S`` until stopped."""

    def __init__(self, name: str, make: Callable[[], Sweeper | None]) -> None:
        super().__init__(name=f"jobfleet-sweep-{name}", daemon=True)
        self.make = make
        self.stopping = threading.Event()

    def run(self) -> None:
        sweeper: Sweeper | None = None
        while not self.stopping.is_set():
            try:
                sweeper = sweeper or self.make()
                if sweeper is None:
                    return  # sweeps are off, or the platform has no usable list
                sweeper.run_once()
            except (ConfigError, AuthError) as exc:
                log.info("%s: no sweep for now: %s", self.name, exc)
                self.stopping.wait(30)  # not set up, or its credential refused: look later
            except redis.RedisError:
                log.warning("sweep round failed (Redis); retrying", exc_info=True)
                self.stopping.wait(2)
            except Exception:  # noqa: BLE001 - a sweeper must outlive any one bad round
                log.exception("sweep round failed; retrying")
                self.stopping.wait(2)
            self.stopping.wait(TICK_S)

    def stop(self) -> None:
        self.stopping.set()
