"""Due work and leases: when each job's next step is due, and which worker holds it.

Each step has a due index per provider (a sorted set: job id → due time, see
:mod:`worker.keys`); a new job waits in its provider's index of jobs not yet started until a
dispatcher claims it, after the work already started (:func:`worker.keys.claim_keys`). A
dispatcher claims due jobs by pushing their due time to when the message it sends should
have been taken up; the worker that runs the step takes the job's lease (``lease_until``).
A worker that dies mid-step leaves a lease that expires, and the dispatcher hands the step
to another worker. Every move is one Lua script (:mod:`worker.scripts`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import redis

from worker import keys
from worker.record import Job, decode


class Claim(NamedTuple):
    """The jobs a dispatcher's claim took (:meth:`DueIndex.claim_due`), and, when the claim
    was given an in-flight room, how many of them were not yet in flight: what it paid for."""

    ids: list[str]
    entering: int


class DueIndex:
    """Claiming due jobs, moving their due times, and the leases of steps in progress;
    part of :class:`worker.store.JobStore`, whose client, clock and scripts it uses."""

    redis: redis.Redis
    clock: Callable[[], float]
    _scripts: dict[str, Any]

    def claim_lease(self, job_id: str, step: str, states: Sequence[str], lease_s: float,
                    require: str = "") -> tuple[str, str]:
        """Takes the lease of ``step``: ('fresh', 'resume', or the reason it was not taken),
        and the lease's token for :meth:`renew_lease`."""
        token, args = self._claim_args(step, states, lease_s, require)
        return self._scripts["claim"](keys=[keys.job_key(job_id)], args=args), token

    def claim_leases(self, job_ids: Sequence[str], step: str, states: Sequence[str],
                     lease_s: float, require: str = "") -> list[tuple[Job, str]]:
        """:meth:`claim_lease` for many jobs in one round trip, each job's record read right
        after its claim; returns ``(job, token)`` for every job whose lease was taken."""
        token, args = self._claim_args(step, states, lease_s, require)
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            self._scripts["claim"](keys=[keys.job_key(job_id)], args=args, client=pipe)
            pipe.hgetall(keys.job_key(job_id))
        answers = pipe.execute()
        return [(decode(raw), token) for status, raw in zip(answers[::2], answers[1::2])
                if status in ("fresh", "resume") and raw]

    def _claim_args(self, step: str, states: Sequence[str], lease_s: float,
                    require: str) -> tuple[str, list[Any]]:
        """A lease's token (its end) and the claim script's arguments."""
        now = self.clock()
        token = f"{now + lease_s:.6f}"
        return token, [step, ",".join(states), now, token, require]

    def renew_lease(self, job_id: str, step: str, token: str, lease_s: float) -> str | None:
        """Extends a lease we still hold, before an action that must not run twice (an
        upload); returns the new token, or None when another worker has taken the step over."""
        new = f"{self.clock() + lease_s:.6f}"
        renewed = self._scripts["renew"](keys=[keys.job_key(job_id)], args=[step, token, new])
        return new if renewed else None

    def claim_due(self, step: str, provider: str, limit: int, *, until: float,
                  unstarted: bool = False, room: int | None = None) -> Claim:
        """Claims up to ``limit`` due jobs of one step and provider, pushing their due time to
        exactly ``until`` (written as ``f"{until:.6f}"``: a message that carries it can later
        move exactly the jobs still so claimed): work already started, or with ``unstarted``
        jobs not yet started, which move into the due index (:func:`worker.keys.claim_keys`;
        none for the steps after the first). At most ``room`` of them (None: any number) may
        be jobs not yet in flight; jobs already in flight hold their slot (see
        claim_due.lua)."""
        claimed = keys.claim_keys(step, provider, unstarted)
        if not claimed:
            return Claim([], 0)
        args = [self.clock(), f"{until:.6f}", limit, "" if room is None else room]
        ids, entering = self._scripts["claim_due"](keys=claimed, args=args)
        return Claim(ids, int(entering))

    def due_ids(self, step: str, provider: str) -> list[str]:
        """Every job in one step's due index (a status sweep's running jobs: step "poll")."""
        return self.redis.zrange(keys.due_key(step, provider), 0, -1)

    def push_due(self, step: str, provider: str, job_ids: Sequence[str], at: float) -> int:
        """Moves jobs already due for ``step`` to ``at`` unless due later; returns how many.

        A status sweep that saw a job running pushes its own status request out this way.
        """
        moved = 0
        for start in range(0, len(job_ids), 1000):
            moved += self._scripts["push_due"](keys=[keys.due_key(step, provider)],
                                               args=[at, *job_ids[start : start + 1000]])
        return moved

    def touch_due(self, step: str, providers: Sequence[str],
                  expected: Sequence[tuple[str, str]], until: float) -> list[str]:
        """Moves started jobs' due time to ``until`` while it is still what we set (``''``:
        at the start, while it is earlier); returns the ids moved (see touch_due.lua)."""
        if not expected:
            return []
        args: list[object] = [f"{until:.6f}"]
        for job_id, score in expected:
            args += [job_id, score]
        return self._scripts["touch_due"](
            keys=[keys.due_key(step, provider) for provider in providers], args=args)
