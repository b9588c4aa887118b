"""The fleet's rules, as pure functions: (job, observation, policy, now) → outcome or action.

Nothing here reads Redis, calls a platform, sleeps or logs, so every rule is tested with a
table (``tests/unit/test_decide.py``). The steps (:mod:`worker.submit`, :mod:`worker.steps`,
:mod:`worker.finalize`, :mod:`worker.cancel`) gather the observations and call the platform;
:mod:`worker.apply` writes what was decided. ``rand`` replaces the poll jitter's random
draw, for tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from worker.backoff import PollPolicy
from worker.errors import (
    AuthError,
    ConfigError,
    OverBudget,
    PermanentError,
    Throttled,
    TransientError,
)
from worker.outcomes import (
    Admit,
    Cancel,
    CancelRemote,
    Changes,
    Create,
    CreateStarted,
    Expire,
    Fail,
    Fetch,
    RemoteEnded,
    Reschedule,
    Search,
    Skip,
    Track,
)
from worker.providers.types import (
    Created,
    CreateOutcome,
    Refused,
    RemoteState,
    RemoteStatus,
    Submission,
    Unknown,
)
from worker.record import Job

AT_LIMIT_RETRY_S = 2.0  # a job held back by the in-flight limit asks again this much later
THROTTLED_RETRY_S = 1.0  # our own limiter said wait, without saying how long


@dataclass(frozen=True)
class Policy:
    """How long to wait and how often to try: one value per process, from the settings."""

    poll: PollPolicy
    lease_s: float  # a step not finished by then is resumed by another worker
    max_step_errors: int  # consecutive failed attempts of one step before the job fails
    at_limit_retry_s: float = AT_LIMIT_RETRY_S
    create_settle_s: float = 0.0  # an unanswered create may still be processed this long after
    # it was sent (a request queued at the platform): a search before then that finds
    # nothing is repeated then, never followed by a create
    swept: frozenset[str] = frozenset()  # platforms whose running jobs status sweeps cover
    sweep_fallback_s: float = 120.0  # their own status request: only after this long unseen

    def poll_delay(self, job: Job, polls: int, hint: float | None, remaining: float | None,
                   rand: float | None = None) -> float:
        """Seconds until a running job's own status request: the backoff schedule, or, while
        sweeps cover its platform, ``sweep_fallback_s`` (every sweep that sees the job
        pushes the request on again, so it is only a fallback); never past the deadline."""
        if job.provider not in self.swept:
            return self.poll.delay(polls, hint=hint, remaining=remaining, rand=rand)
        return self.sweep_fallback_s if remaining is None else min(
            self.sweep_fallback_s, max(remaining, 0.0))


# -- any step --------------------------------------------------------------------------------


def step_error(job: Job, step: str, exc: Exception, policy: Policy, now: float,
               rand: float | None = None, changes: Changes | None = None) -> Reschedule | Fail:
    """A step raised ``exc``: fail now (permanent), wait (our limiter), or try again later
    with backoff until the error budget is spent. ``changes`` are written either way."""
    extra = dict(changes or {})
    if isinstance(exc, PermanentError | ConfigError):
        reason = exc.reason if isinstance(exc, PermanentError) else "config"
        auth = exc if isinstance(exc, AuthError) else None
        return Fail(reason, str(exc), extra, auth=auth)
    if isinstance(exc, Throttled):  # nothing was sent: no error is counted
        at = now + (exc.retry_after or THROTTLED_RETRY_S)
        return Reschedule(step, at, {**extra, "lease_until": None})
    errors = job.errors + 1
    transient = isinstance(exc, TransientError)
    text = exc.describe() if transient else f"internal error: {exc!r}"
    if errors >= policy.max_step_errors:
        reason = exc.reason if transient else "internal"
        return Fail(reason, f"gave up after {errors} attempts to {step}: {text}", extra)
    hint = exc.retry_after if transient else None
    at = now + policy.poll.delay(errors - 1, hint=hint, rand=rand)
    note = (f"{step} failed ({errors}/{policy.max_step_errors}), "
            f"again in {at - now:.1f}s: {text}")
    return Reschedule(step, at, {**extra, "errors": errors, "last_error": text,
                                 "lease_until": None}, note=note)


# -- submit ----------------------------------------------------------------------------------


def admission(job: Job, cancel_requested: bool) -> Cancel | Admit:
    """A queued job either ends cancelled or asks to become ``submitting``."""
    if cancel_requested:
        return Cancel(("queued",))
    return Admit({"submit_attempts": job.submit_attempts + 1})


def at_limit(policy: Policy, now: float) -> Reschedule:
    """The in-flight limit held the job back: ask again shortly, holding no lease."""
    return Reschedule("submit", now + policy.at_limit_retry_s, {"lease_until": None})


def before_create(job: Job, *, interrupted: bool, searched: bool, can_find: bool,
                  cancel_requested: bool, now: float = 0.0,
                  settle_s: float = 0.0) -> Search | Fail | Cancel | Create | Reschedule:
    """Whether to search for a remote job an earlier attempt may have made, before creating.

    ``interrupted`` says an earlier attempt of the step was cut short after admitting the job
    (a worker died holding its lease): it may have sent a create whose note was never
    written, so the platform is searched. A job the step handed back (the request pace said
    wait, the platform refused the create) was not interrupted: nothing of it is out there.
    ``create_started`` stays on the record while a create's outcome is unknown. Then, if the
    platform can be searched we search at once: a create whose answer was lost (a dropped
    connection, a Redis restart before the answer was written) is usually there already.
    If that search finds nothing before ``settle_s`` has passed since the create was sent,
    the platform may still be processing it (a request we stopped waiting for), so nothing
    is created yet: the job searches once more when the settle time is reached, and only a
    search after it that finds nothing leads to a create. If the platform cannot be
    searched, the job fails rather than risk a second remote job.
    """
    if not searched and (interrupted or job.create_started):
        if can_find:
            return Search()
        if job.create_started:
            return Fail("submit_unknown",
                        f"{job.provider}: an earlier create request may have succeeded and "
                        "the platform cannot be searched for it; not retried, to never run "
                        "the job twice")
    settled = (job.create_started or 0.0) + settle_s
    if searched and job.create_started and settle_s > 0 and now < settled:
        return Reschedule("submit", settled, {"lease_until": None},
                          note="not found yet; an earlier create may still be processed: "
                               "searching again then")
    if cancel_requested:
        return Cancel(("submitting",))
    return Create()


def create_started(policy: Policy, now: float) -> CreateStarted:
    """Note the create before the request goes out, so a lost answer is searched for."""
    return CreateStarted(at=now, retry_at=now + policy.lease_s)


def after_create(job: Job, outcome: CreateOutcome, policy: Policy, now: float,
                 rand: float | None = None) -> Track | Fail | Reschedule:
    """What the create's answer means: track the remote job, or fail / retry the step.

    A refusal created nothing, so the next attempt need not search (``create_started``
    is cleared); an unknown outcome keeps it, so the next attempt searches first, and
    creates only after the settle time (see :func:`before_create`).
    """
    if isinstance(outcome, Created):
        return track(job, outcome.submission, policy, now, rand)
    exc = outcome.error
    if isinstance(exc, OverBudget):
        return Fail(exc.reason, exc.describe(), {"remote_id": exc.remote_id})
    cleared = {"create_started": None} if isinstance(outcome, Refused) else None
    return step_error(job, "submit", exc, policy, now, rand, cleared)


def search_now(outcome: CreateOutcome, can_find: bool) -> bool:
    """Whether to search for the remote job at once, in the same step, after the create's
    answer: when the answer was lost (a dropped connection, a timeout, a garbled or 5xx
    answer; not a refusal, and not an error that fails the job anyway) and the platform
    can be searched. The remote job is usually there already; adopting it now spares the
    job a round trip through the queue."""
    return (can_find and isinstance(outcome, Unknown)
            and not isinstance(outcome.error, PermanentError | ConfigError | Throttled))


def after_lost_create(job: Job, outcome: Unknown, found: Submission | None, policy: Policy,
                      now: float, *, sent_at: float, ask_at: float | None = None,
                      search_failed: bool = False,
                      rand: float | None = None) -> Track | Fail | Reschedule:
    """What a search made right after a lost answer (see :func:`search_now`) means.

    Found: track it. Not found: the create's failure counts as any (:func:`after_create`),
    but the next attempt, which searches first, is due no earlier than the create's settle
    time (a search before it can find the remote job but never show it absent, so an
    earlier attempt would only search in vain) nor than ``ask_at``, when a shared search
    under way said to ask again. A search that failed (``search_failed``: the platform
    answered it badly) showed nothing either way: the next attempt searches again after the
    usual backoff, since the remote job may well be there already.
    """
    if found is not None:
        return track(job, found, policy, now, rand)
    decision = after_create(job, outcome, policy, now, rand)
    if not isinstance(decision, Reschedule):
        return decision
    if search_failed:
        at, searched = decision.at, "its search failed"
    else:
        at = max(decision.at, sent_at + policy.create_settle_s, ask_at or 0.0)
        searched = ("its search waits for a shared walk under way" if ask_at is not None
                    else "searched for at once and not found yet")
    changes = decision.changes
    note = (f"submit failed ({changes['errors']}/{policy.max_step_errors}), {searched}, "
            f"again in {at - now:.1f}s: {changes['last_error']}")
    return Reschedule(decision.step, at, changes, note=note)


def track(job: Job, sub: Submission, policy: Policy, now: float,
          rand: float | None = None) -> Track:
    """Start tracking a remote job (created, or found from an earlier attempt)."""
    changes = {
        "remote_id": sub.remote_id, "remote_state": sub.status.raw, "create_started": None,
        "lease_until": None, "errors": 0, "polls": 0,
        "deadline_at": now + job.deadline_s if job.deadline_s else None,
    }
    if sub.status.state.terminal:
        changes.update(remote_done=sub.status.state.value, remote_detail=sub.status.detail)
        return Track(sub, "finalize", now, changes)
    delay = policy.poll_delay(job, 0, sub.status.poll_hint, job.deadline_s or None, rand)
    return Track(sub, "poll", now + delay, changes)


# -- poll ------------------------------------------------------------------------------------


def needs_poll(job: Job) -> bool:
    """Running, and its remote job not yet seen ended."""
    return job.state == "running" and not job.remote_done


def poll(job: Job, status: RemoteStatus | Exception | None, *, cancel_requested: bool,
         policy: Policy, now: float, rand: float | None = None,
         ) -> CancelRemote | Expire | RemoteEnded | Reschedule | Fail:
    """One status answer: hand off to finalize, poll again with backoff, retry, or stop."""
    if cancel_requested:
        return CancelRemote()
    if status is None:
        status = TransientError("no status returned for this job", provider=job.provider)
    if isinstance(status, Exception):
        return step_error(job, "poll", status, policy, now, rand)
    if status.state.terminal:
        return RemoteEnded(status, now, now + policy.lease_s)
    if job.deadline_at is not None and now >= job.deadline_at:
        return Expire()
    remaining = None if job.deadline_at is None else job.deadline_at - now
    delay = policy.poll_delay(job, job.polls, status.poll_hint, remaining, rand)
    return Reschedule("poll", now + delay, {"polls": job.polls + 1, "errors": 0,
                                            "remote_state": status.raw,
                                            "next_poll": now + delay})


def expired(job: Job, note: str) -> Fail:
    """The deadline passed; ``note`` says what became of the remote job."""
    return Fail("deadline", f"deadline of {job.deadline_s or 0.0:g}s passed; {note}")


# -- finalize and cancel ---------------------------------------------------------------------


def finalize(job: Job) -> Cancel | Fail | Fetch:
    """What the remote job's end means for ours: cancelled, failed with its reason, or fetch."""
    done = RemoteState(job.remote_done)
    if done is RemoteState.CANCELLED:
        return Cancel(("running",))
    if done is RemoteState.FAILED:
        detail = job.remote_detail or job.remote_state or "no reason given"
        return Fail("remote_failed", f"{job.provider}: remote job failed: {detail}")
    return Fetch()


def cancel(job: Job | None) -> Skip | Cancel | CancelRemote:
    """A cancel request: end a queued job at once; a running one after its remote job.

    A job in ``submitting`` is left to its submit step, which looks for the request before
    and after creating the remote job.
    """
    if job is None:
        return Skip("missing")
    if job.terminal:
        return Skip(f"already {job.state}")
    if job.state == "queued":
        return Cancel(("queued",))
    if job.state == "submitting":
        return Skip("cancel requested")
    return CancelRemote()


def remote_cancel(error: Exception | None) -> Cancel | Skip:
    """After asking the platform to cancel: end ours, or try again at the next poll."""
    return Skip("cancel requested") if error is not None else Cancel(("running",))
