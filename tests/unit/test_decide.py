"""The steps' rules as tables: (job, observation, policy, now) → outcome. Pure, no sleeping."""

from __future__ import annotations

import dataclasses

import pytest

from worker import decide
from worker.backoff import PollPolicy
from worker.errors import (
    AuthError,
    BadResponse,
    ConfigError,
    OverBudget,
    PermanentError,
    RateLimited,
    Throttled,
    TransientError,
)
from worker.outcomes import (
    Admit,
    Cancel,
    CancelRemote,
    Create,
    Expire,
    Fail,
    Fetch,
    RemoteEnded,
    Reschedule,
    Search,
    Skip,
    Track,
)
from worker.providers.types import Created, Refused, RemoteState, RemoteStatus, Submission, Unknown
from worker.record import Job

NOW = 1000.0
MID = 0.5  # the jitter's draw that spreads nothing: delays are exact
POLICY = decide.Policy(poll=PollPolicy(initial_s=2.0, factor=2.0, cap_s=60.0, jitter=0.1),
                       lease_s=45.0, max_step_errors=3)
P = "deeporigin"


def job(**fields) -> Job:
    base = Job.new("b", "k", P, "tool", {"tool": "t"})
    return dataclasses.replace(base, **{"state": "running", "remote_id": "r-1", **fields})


def status(state: RemoteState, raw: str = "raw", **kw) -> RemoteStatus:
    return RemoteStatus(state=state, raw=raw, **kw)


# -- errors of any step ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("errors", "exc", "expected"),
    [
        (0, PermanentError("no such tool", provider=P, status=404),
         Fail("rejected", "deeporigin HTTP 404: no such tool")),
        (0, ConfigError("DO_AUTH_TOKEN is not set"), Fail("config", "DO_AUTH_TOKEN is not set")),
        (0, Throttled("slot in 3s", provider=P, retry_after=3.0),
         Reschedule("poll", NOW + 3.0, {"lease_until": None})),
        (2, Throttled("no slot", provider=P),  # our own limiter never spends the budget
         Reschedule("poll", NOW + 1.0, {"lease_until": None})),
        (0, TransientError("timed out", provider=P),
         Reschedule("poll", NOW + 2.0, {"errors": 1, "last_error": "deeporigin: timed out",
                                        "lease_until": None},
                    note="poll failed (1/3), again in 2.0s: deeporigin: timed out")),
        (1, TransientError("timed out", provider=P),
         Reschedule("poll", NOW + 4.0, {"errors": 2, "last_error": "deeporigin: timed out",
                                        "lease_until": None},
                    note="poll failed (2/3), again in 4.0s: deeporigin: timed out")),
        (2, BadResponse("not JSON", provider=P, status=200),
         Fail("bad_response", "gave up after 3 attempts to poll: deeporigin HTTP 200: not JSON")),
        (2, RuntimeError("bug"),
         Fail("internal", "gave up after 3 attempts to poll: internal error: RuntimeError('bug')")),
    ],
)
def test_a_failed_step_fails_now_waits_or_retries_within_its_budget(errors, exc, expected):
    assert decide.step_error(job(errors=errors), "poll", exc, POLICY, NOW, rand=MID) == expected


def test_the_platforms_retry_after_wins_over_the_backoff():
    exc = RateLimited("slow down", provider=P, status=429, retry_after=7.0)
    assert decide.step_error(job(), "submit", exc, POLICY, NOW).at == NOW + 7.0


def test_a_refused_credential_is_handed_on_to_be_remembered_fleet_wide():
    exc = AuthError("bad token", provider=P, status=401)
    outcome = decide.step_error(job(), "submit", exc, POLICY, NOW)
    assert (outcome.reason, outcome.auth) == ("auth", exc)


# -- submit ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cancel_requested", "expected"),
    [(True, Cancel(("queued",))), (False, Admit({"submit_attempts": 3}))],
)
def test_a_queued_job_is_cancelled_or_asks_for_admission(cancel_requested, expected):
    assert decide.admission(job(state="queued", submit_attempts=2), cancel_requested) == expected


def test_a_job_held_by_the_in_flight_limit_asks_again_without_a_lease():
    assert decide.at_limit(POLICY, NOW) == Reschedule("submit", NOW + 2.0, {"lease_until": None})


UNKNOWN = Fail("submit_unknown", "deeporigin: an earlier create request may have succeeded and "
               "the platform cannot be searched for it; not retried, to never run the job twice")


@pytest.mark.parametrize(
    ("create_started", "interrupted", "searched", "can_find", "cancel", "expected"),
    [
        (None, False, False, True, False, Create()),  # a first attempt creates at once
        (None, False, False, True, True, Cancel(("submitting",))),
        (900.0, False, False, True, False, Search()),  # an earlier create may have worked
        (None, True, False, True, False, Search()),  # a worker died mid-step
        (900.0, False, True, True, False, Create()),  # searched, nothing there: create
        (900.0, False, True, True, True, Cancel(("submitting",))),
        (900.0, False, False, False, False, UNKNOWN),  # cannot search: never risk a second
        (None, True, False, False, False, Create()),  # died before any create was sent
    ],
)
def test_before_creating_an_unknown_earlier_create_is_searched_for_or_fails_the_job(
        create_started, interrupted, searched, can_find, cancel, expected):
    current = job(state="submitting", create_started=create_started, remote_id=None)
    decision = decide.before_create(current, interrupted=interrupted, searched=searched,
                                    can_find=can_find, cancel_requested=cancel)
    assert decision == expected


SUB = Submission("r-9", status(RemoteState.PENDING, "Queued"))
ENDED = Submission("r-9", status(RemoteState.FAILED, "Failed", detail="bad input"))
TRACKED = {"remote_id": "r-9", "create_started": None, "lease_until": None, "errors": 0,
           "polls": 0}


@pytest.mark.parametrize(
    ("outcome", "deadline_s", "expected"),
    [
        (Created(SUB), None,
         Track(SUB, "poll", NOW + 2.0, {**TRACKED, "remote_state": "Queued",
                                        "deadline_at": None})),
        (Created(SUB), 30.0,
         Track(SUB, "poll", NOW + 2.0, {**TRACKED, "remote_state": "Queued",
                                        "deadline_at": NOW + 30.0})),
        (Created(ENDED), None,  # ended before the first poll: straight to finalize
         Track(ENDED, "finalize", NOW, {**TRACKED, "remote_state": "Failed", "deadline_at": None,
                                        "remote_done": "failed", "remote_detail": "bad input"})),
        (Refused(TransientError("503", provider=P, status=503)), None,
         Reschedule("submit", NOW + 2.0, {"create_started": None, "errors": 1,
                                          "last_error": "deeporigin HTTP 503: 503",
                                          "lease_until": None},
                    note="submit failed (1/3), again in 2.0s: deeporigin HTTP 503: 503")),
        (Unknown(TransientError("timed out", provider=P)), None,  # create_started is kept
         Reschedule("submit", NOW + 2.0, {"errors": 1, "last_error": "deeporigin: timed out",
                                          "lease_until": None},
                    note="submit failed (1/3), again in 2.0s: deeporigin: timed out")),
        (Refused(OverBudget(provider=P, remote_id="q-1", price=9, ceiling=5)), None,
         Fail("over_budget", "deeporigin: quoted 9 is above the ceiling 5", {"remote_id": "q-1"})),
    ],
)
def test_the_creates_answer_decides_tracking_or_retrying(outcome, deadline_s, expected):
    current = job(state="submitting", remote_id=None, create_started=NOW, deadline_s=deadline_s)
    assert decide.after_create(current, outcome, POLICY, NOW, rand=MID) == expected


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        # the request pace said wait before the create left: nothing was sent
        (Refused(Throttled("fleet-wide limit", provider=P, retry_after=3.0)), Create()),
        # the platform answered no (a 429 or a 5xx with an answer): nothing was created
        (Refused(RateLimited("slow down", provider=P, status=429)), Create()),
        (Refused(TransientError("503", provider=P, status=503)), Create()),
        # sent and no usable answer: the remote job may exist
        (Unknown(TransientError("timed out", provider=P)), Search()),
        (Unknown(BadResponse("not JSON", provider=P, status=200)), Search()),
    ],
)
def test_a_job_handed_back_after_a_create_that_never_left_is_created_without_a_search(
        outcome, expected):
    """The next attempt searches only when the create may exist remotely. A handed-back step
    clears its lease, and the claim reports a job without an earlier lease as not
    interrupted (``worker/lua/claim.lua``): only ``create_started`` can ask for a search."""
    sent = job(state="submitting", remote_id=None, create_started=NOW, lease_until="1045.0")
    retry = decide.after_create(sent, outcome, POLICY, NOW, rand=MID)
    assert isinstance(retry, Reschedule) and retry.changes["lease_until"] is None
    after = dataclasses.replace(sent, **retry.changes)
    assert decide.before_create(after, interrupted=after.lease_until is not None,
                                searched=False, can_find=True,
                                cancel_requested=False) == expected


def test_a_create_is_noted_before_it_goes_out_and_held_for_a_lease():
    noted = decide.create_started(POLICY, NOW)
    assert (noted.at, noted.retry_at) == (NOW, NOW + 45.0)


# -- poll ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "answer", "cancel", "expected"),
    [
        ({}, status(RemoteState.RUNNING), True, CancelRemote()),
        ({}, status(RemoteState.SUCCEEDED), False,
         RemoteEnded(status(RemoteState.SUCCEEDED), NOW, NOW + 45.0)),
        ({"polls": 2}, status(RemoteState.RUNNING, "Running"), False,
         Reschedule("poll", NOW + 8.0, {"polls": 3, "errors": 0, "remote_state": "Running",
                                        "next_poll": NOW + 8.0})),
        ({"polls": 9}, status(RemoteState.RUNNING, "Running"), False,  # capped
         Reschedule("poll", NOW + 60.0, {"polls": 10, "errors": 0, "remote_state": "Running",
                                         "next_poll": NOW + 60.0})),
        ({}, status(RemoteState.PENDING, "Queued", poll_hint=5.0), False,  # the hint wins
         Reschedule("poll", NOW + 5.0, {"polls": 1, "errors": 0, "remote_state": "Queued",
                                        "next_poll": NOW + 5.0})),
        ({"polls": 4, "deadline_at": NOW + 3.0}, status(RemoteState.RUNNING, "Running"), False,
         Reschedule("poll", NOW + 3.0, {"polls": 5, "errors": 0, "remote_state": "Running",
                                        "next_poll": NOW + 3.0})),  # never past the deadline
        ({"deadline_at": NOW}, status(RemoteState.RUNNING), False, Expire()),
        ({"deadline_at": NOW}, status(RemoteState.FAILED), False,  # the end wins the race
         RemoteEnded(status(RemoteState.FAILED), NOW, NOW + 45.0)),
        ({}, None, False,
         Reschedule("poll", NOW + 2.0, {"errors": 1, "lease_until": None,
                                        "last_error": "deeporigin: no status returned for "
                                                      "this job"},
                    note="poll failed (1/3), again in 2.0s: deeporigin: no status returned "
                         "for this job")),
    ],
)
def test_a_status_answer_hands_off_polls_again_or_stops(fields, answer, cancel, expected):
    decision = decide.poll(job(**fields), answer, cancel_requested=cancel, policy=POLICY,
                           now=NOW, rand=MID)
    assert decision == expected


SWEPT = dataclasses.replace(POLICY, swept=frozenset({P}), sweep_fallback_s=120.0)


@pytest.mark.parametrize(
    ("fields", "answer", "expected_at"),
    [
        ({"polls": 0}, status(RemoteState.RUNNING), NOW + 120.0),  # not 2 s: sweeps look
        ({"polls": 9}, status(RemoteState.RUNNING), NOW + 120.0),  # not the 60 s cap
        ({}, status(RemoteState.PENDING, poll_hint=5.0), NOW + 120.0),  # a hint changes nothing
        ({"deadline_at": NOW + 30.0}, status(RemoteState.RUNNING), NOW + 30.0),  # the deadline
        ({"provider": "moderately"}, status(RemoteState.RUNNING), NOW + 2.0),  # not swept
    ],
)
def test_a_swept_platform_s_own_status_request_is_only_a_fallback(fields, answer, expected_at):
    decision = decide.poll(job(**fields), answer, cancel_requested=False, policy=SWEPT,
                           now=NOW, rand=MID)
    assert isinstance(decision, Reschedule) and decision.at == expected_at


@pytest.mark.parametrize(
    ("fields", "expected"),
    [({}, True), ({"remote_done": "succeeded"}, False), ({"state": "submitting"}, False)],
)
def test_only_running_jobs_not_yet_seen_ended_are_polled(fields, expected):
    assert decide.needs_poll(job(**fields)) is expected


def test_an_expired_job_fails_saying_what_became_of_its_remote_job():
    assert decide.expired(job(deadline_s=30.0), "remote job cancelled") == Fail(
        "deadline", "deadline of 30s passed; remote job cancelled")


# -- finalize and cancel ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"remote_done": "succeeded"}, Fetch()),
        ({"remote_done": "cancelled"}, Cancel(("running",))),
        ({"remote_done": "failed", "remote_detail": "OOM"},
         Fail("remote_failed", "deeporigin: remote job failed: OOM")),
        ({"remote_done": "failed", "remote_state": "Errored"},
         Fail("remote_failed", "deeporigin: remote job failed: Errored")),
        ({"remote_done": "failed"},
         Fail("remote_failed", "deeporigin: remote job failed: no reason given")),
    ],
)
def test_finalize_follows_the_remote_jobs_end(fields, expected):
    assert decide.finalize(job(**fields)) == expected


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (None, Skip("missing")),
        (job(state="failed"), Skip("already failed")),
        (job(state="queued"), Cancel(("queued",))),
        (job(state="submitting"), Skip("cancel requested")),  # left to its submit step
        (job(state="running"), CancelRemote()),
    ],
)
def test_a_cancel_request_depends_on_where_the_job_is(current, expected):
    assert decide.cancel(current) == expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [(None, Cancel(("running",))),
     (TransientError("503", provider=P), Skip("cancel requested"))],  # again at the next poll
)
def test_a_failed_remote_cancel_leaves_the_job_for_the_next_poll(error, expected):
    assert decide.remote_cancel(error) == expected


@pytest.mark.parametrize(
    ("now", "searched", "expected"),
    [
        (104.0, False, Search()),  # at once: a create whose answer was lost is there already
        (104.0, True, Reschedule("submit", 110.0, {"lease_until": None},
                                 note="not found yet; an earlier create may still be "
                                      "processed: searching again then")),
        (110.0, False, Search()),  # the settle time reached: the search that decides
        (110.0, True, Create()),  # nothing there after it: now a create is safe
        (130.0, True, Create()),
    ],
)
def test_an_unanswered_create_is_searched_for_at_once_and_created_again_only_after_settling(
        now, searched, expected):
    lost = job(state="submitting", remote_id=None, create_started=100.0)
    assert decide.before_create(lost, interrupted=True, searched=searched, can_find=True,
                                cancel_requested=False, now=now, settle_s=10.0) == expected


def test_a_cancel_waits_for_the_settle_time_while_an_earlier_create_may_be_processed():
    lost = job(state="submitting", remote_id=None, create_started=100.0)
    early = decide.before_create(lost, interrupted=False, searched=True, can_find=True,
                                 cancel_requested=True, now=104.0, settle_s=10.0)
    assert isinstance(early, Reschedule) and early.at == 110.0
    later = decide.before_create(lost, interrupted=False, searched=True, can_find=True,
                                 cancel_requested=True, now=110.0, settle_s=10.0)
    assert later == Cancel(("submitting",))


def test_an_unanswered_create_is_retried_by_backoff_and_the_retry_searches_first():
    policy = dataclasses.replace(POLICY, create_settle_s=10.0)
    lost = job(state="submitting", remote_id=None, create_started=100.0)
    unanswered = Unknown(TransientError("timed out", provider=P))
    retry = decide.after_create(lost, unanswered, policy, now=105.0, rand=MID)
    assert isinstance(retry, Reschedule) and retry.at == 107.0  # the backoff, not the settle
    assert "create_started" not in retry.changes  # kept: the retry searches before creating


@pytest.mark.parametrize(
    ("outcome", "can_find", "expected"),
    [
        (Unknown(TransientError("timed out", provider=P)), True, True),
        (Unknown(BadResponse("not JSON", provider=P, status=200)), True, True),
        (Unknown(TransientError("timed out", provider=P)), False, False),  # cannot search
        (Refused(TransientError("503", provider=P, status=503)), True, False),  # nothing made
        (Created(SUB), True, False),
        (Unknown(PermanentError("no such tool", provider=P, status=404)), True, False),
        (Unknown(Throttled("no slot", provider=P)), True, False),  # nothing was sent
    ],
)
def test_only_a_lost_answer_is_searched_for_in_the_same_step(outcome, can_find, expected):
    assert decide.search_now(outcome, can_find) is expected


SETTLING = dataclasses.replace(POLICY, create_settle_s=10.0)
LOST = Unknown(TransientError("timed out", provider=P))
LOST_ERROR = {"errors": 1, "last_error": "deeporigin: timed out", "lease_until": None}


@pytest.mark.parametrize(
    ("found", "ask_at", "failed", "errors", "expected"),
    [
        # found at once: tracked, the error forgotten
        (SUB, None, False, 0, Track(SUB, "poll", 105.0 + 2.0, {**TRACKED, "remote_state": "Queued",
                                                        "deadline_at": None})),
        # not found before the settle time (sent at 100): the next attempt, which searches
        # first, is due when the create has settled, not at the backoff (107)
        (None, None, False, 0, Reschedule("submit", 110.0, LOST_ERROR, note=(
            "submit failed (1/3), searched for at once and not found yet, again in 5.0s: "
            "deeporigin: timed out"))),
        # a shared search under way said to ask again later than that
        (None, 113.0, False, 0, Reschedule("submit", 113.0, LOST_ERROR, note=(
            "submit failed (1/3), its search waits for a shared walk under way, again in 8.0s: "
            "deeporigin: timed out"))),
        # the search itself failed (a garbled answer): searched again after the backoff
        # (107), as it may be there already; a search before 110 never creates
        (None, None, True, 0, Reschedule("submit", 107.0, LOST_ERROR, note=(
            "submit failed (1/3), its search failed, again in 2.0s: deeporigin: timed out"))),
        # the error budget is spent: failed as after any lost answer, never created again
        (None, None, False, 2, Fail("transient", "gave up after 3 attempts to submit: "
                             "deeporigin: timed out")),
    ],
)
def test_a_search_right_after_a_lost_answer_adopts_or_waits_for_the_settle_time(
        found, ask_at, failed, errors, expected):
    lost = job(state="submitting", remote_id=None, create_started=100.0, errors=errors)
    assert decide.after_lost_create(lost, LOST, found, SETTLING, 105.0, sent_at=100.0,
                                    ask_at=ask_at, search_failed=failed, rand=MID) == expected


def test_a_lost_answer_found_absent_after_its_settle_time_is_retried_by_backoff():
    lost = job(state="submitting", remote_id=None, create_started=100.0)
    retry = decide.after_lost_create(lost, LOST, None, SETTLING, 115.0, sent_at=100.0,
                                     rand=MID)
    assert isinstance(retry, Reschedule) and retry.at == 117.0
    assert "create_started" not in retry.changes  # kept: the retry searches before creating
