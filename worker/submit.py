"""Submitting a job: create its remote job at most once, and schedule its first poll.

The create is the one step that must never happen twice. The record notes that a create is
under way before the request; an attempt that finds that note (a worker died, an answer was
lost) first searches the platform for the remote job and adopts it, and when the platform
cannot settle the question the job fails rather than risk a second remote job. The rules
are in :mod:`worker.decide`; this module gathers what they need and makes the calls.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from worker import decide
from worker.apply import apply, failed_step
from worker.cancel import cancel_job
from worker.errors import Throttled, TransientError
from worker.log_tally import LogTally
from worker.outcomes import Admit, Create, Outcome, Search, Track
from worker.providers.base import Provider
from worker.providers.types import JobSpec, Submission, Unknown
from worker.record import Job
from worker.results.upload import LeaseFence
from worker.runtime import Runtime

log = logging.getLogger("jobfleet.submit")
waits = LogTally(log)  # creates held by the pace, searches handed back: per kind, summed

FIND_RACE_ROUNDS = 3  # searches after losing a found remote job to another of our jobs


def submit_job(rt: Runtime, job_id: str) -> None:
    """Creates the remote job, at most once, and schedules its first poll."""
    claim, token = rt.store.claim_lease(job_id, "submit", ("queued", "submitting"),
                                        rt.policy.lease_s)
    if claim not in ("fresh", "resume"):
        return
    fence = LeaseFence(rt.store, job_id, "submit", token, rt.policy.lease_s)
    with rt.heartbeat.holding(fence):  # a slow search or create is never taken over
        _submit(rt, job_id, interrupted=claim == "resume")


def _submit(rt: Runtime, job_id: str, *, interrupted: bool) -> None:
    job = rt.store.get(job_id)
    if job is not None and job.state == "queued":
        job = _admit(rt, job) if _paced(rt, job) else None
    if job is None:
        return
    try:
        provider = rt.provider(job.provider)
        outcome = _find_or_create(rt, provider, job, interrupted=interrupted)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job
        failed_step(rt, job, "submit", exc)
        return
    if outcome is None:
        return
    if apply(rt, job, outcome).done and isinstance(outcome, Track) and _cancel_asked(rt, job):
        cancel_job(rt, job.id)  # the request came while the create was out


def _paced(rt: Runtime, job: Job) -> bool:
    """Waits for the credential's next create slot, fleet-wide (:func:`worker.limits.
    create_pace`). False when the job was handed back instead — to come again when the slot
    is due, still ``queued``, so it neither holds in-flight room nor is searched for — or
    failed because its platform is unusable."""
    try:
        slept = rt.pace_create(job.provider)
    except Exception as exc:  # noqa: BLE001 - Throttled reschedules; others fail the job
        if isinstance(exc, Throttled):
            waits.event(f"{job.provider}: creates handed back by the fleet's create pace",
                        f"job {job.id}, its slot {exc.retry_after or 0:.1f}s away")
        failed_step(rt, job, "submit", exc)
        return False
    if slept:
        waits.event(f"{job.provider}: creates that slept for the fleet's create pace",
                    f"job {job.id}, {slept:.2f}s", slept)
    return True


def _admit(rt: Runtime, job: Job) -> Job | None:
    """queued → submitting within the in-flight limit; the job as it now is, or None."""
    decision = decide.admission(job, _cancel_asked(rt, job))
    done = apply(rt, job, decision)
    if done.held:
        apply(rt, job, decide.at_limit(rt.policy, rt.store.clock()))
    if isinstance(decision, Admit) and done.done:
        return rt.store.get(job.id)
    return None


def _find_or_create(rt: Runtime, provider: Provider, job: Job, *,
                    interrupted: bool) -> Outcome | None:
    """Adopts a remote job an earlier attempt made, or creates one; the outcome to apply."""
    spec = _spec(rt, job)
    decision = _before_create(rt, provider, job, interrupted=interrupted, searched=False)
    if isinstance(decision, Search):
        try:
            found = _find_and_claim(rt, provider, job, spec)
        except Throttled as exc:  # rescheduled by the caller, without an error counted
            _search_waits(provider, job, exc)
            raise
        if found is not None:
            log.info("job %s: adopting remote job %s from an earlier attempt",
                     job.id, found.remote_id)
            return decide.track(job, found, rt.policy, rt.store.clock())
        decision = _before_create(rt, provider, job, interrupted=interrupted, searched=True)
        if isinstance(decision, Create):
            log.info("job %s: no remote job from an earlier attempt on %s; creating it",
                     job.id, provider.name)
    if isinstance(decision, Create):
        return _create(rt, provider, job, spec)
    return decision


def _find_and_claim(rt: Runtime, provider: Provider, job: Job,
                    spec: JobSpec) -> Submission | None:
    """What ``find`` found, registered as ours; a search again when another of our jobs
    registered it first (two identical jobs racing for one remote job): the loser takes
    the next match, or creates, instead of failing as a duplicate."""
    def taken(remote_id: str) -> bool:
        return rt.store.remote_owner(provider.name, remote_id) not in (None, job.id)

    for _ in range(FIND_RACE_ROUNDS):
        found = provider.find(spec, taken=taken)
        if found is None or rt.store.own_remote(provider.name, found.remote_id, job.id):
            return found
        log.info("job %s: remote job %s was just taken by another job; searching again",
                 job.id, found.remote_id)
    return found  # still racing: tracking it fails the job as a duplicate, never twice


def _before_create(rt: Runtime, provider: Provider, job: Job, *, interrupted: bool,
                   searched: bool) -> Outcome | Search | Create:
    return decide.before_create(job, interrupted=interrupted, searched=searched,
                                can_find=provider.supports_find,
                                cancel_requested=_cancel_asked(rt, job),
                                now=rt.store.clock(), settle_s=rt.policy.create_settle_s)


def _create(rt: Runtime, provider: Provider, job: Job, spec: JobSpec) -> Outcome | None:
    """Notes the create, sends it, and decides what its answer means; a lost answer is
    searched for at once (:func:`worker.decide.search_now`)."""
    started = decide.create_started(rt.policy, rt.store.clock())
    if not apply(rt, job, started).done:
        return None  # the job moved on meanwhile (cancelled, failed): create nothing
    outcome = provider.create(spec)
    if isinstance(outcome, Unknown) and decide.search_now(outcome, provider.supports_find):
        return _search_lost(rt, provider, job, spec, outcome, started.at)
    return decide.after_create(job, outcome, rt.policy, rt.store.clock())


def _search_lost(rt: Runtime, provider: Provider, job: Job, spec: JobSpec, outcome: Unknown,
                 sent_at: float) -> Outcome:
    """Searches for the remote job a create whose answer was lost may have made, in the same
    step. A search that cannot answer yet (a shared walk under way, the platform failing)
    leaves it to the next attempt, which searches first as any attempt after a lost answer.
    A search that cannot settle it (``SearchInconclusive``) fails the job, never creates."""
    log.info("job %s: the create's answer was lost (%s); searching %s for it at once",
             job.id, outcome.error, provider.name)
    spec = replace(spec, create_started=sent_at,
                   settle_at=sent_at + rt.policy.create_settle_s)
    found, ask_at, failed = None, None, False
    try:
        found = _find_and_claim(rt, provider, job, spec)
    except Throttled as exc:  # a shared search under way, or not settled yet: ask again then
        ask_at = rt.store.clock() + (exc.retry_after or decide.THROTTLED_RETRY_S)
        _search_waits(provider, job, exc)
    except TransientError as exc:  # the search itself failed: the next attempt searches
        log.info("job %s: search after the lost answer failed: %s", job.id, exc)
        failed = True
    if found is not None:
        log.info("job %s: adopting remote job %s, made by the create whose answer was lost",
                 job.id, found.remote_id)
    return decide.after_lost_create(job, outcome, found, rt.policy, rt.store.clock(),
                                    sent_at=sent_at, ask_at=ask_at, search_failed=failed)


def _search_waits(provider: Provider, job: Job, exc: Throttled) -> None:
    """Logs a search for a lost create handed back to ask again (a shared walk under way,
    the create not settled yet, the request limit), summed per platform (:data:`waits`)."""
    again = exc.retry_after or decide.THROTTLED_RETRY_S
    waits.event(f"{provider.name}: searches for lost creates handed back to ask again",
                f"job {job.id}, in {again:.1f}s: {exc.message}")


def _cancel_asked(rt: Runtime, job: Job) -> bool:
    """Asked to stop, as of now (the record in hand may predate the request)."""
    return job.id in rt.store.cancel_requested([job], fresh=True)


def _spec(rt: Runtime, job: Job) -> JobSpec:
    settle_at = (job.create_started or 0.0) + rt.policy.create_settle_s
    return JobSpec(job_id=job.remote_tag, kind=job.kind, params=job.params,
                   max_price=job.max_price, create_started=job.create_started,
                   settle_at=settle_at if job.create_started else 0.0,
                   adopt_by_payload=rt.settings.adopt_by_payload)
