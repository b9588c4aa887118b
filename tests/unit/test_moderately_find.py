"""Deciding whether a listed Moderately execution is the one a lost create made (pure).

Also covers the search helpers Moderately shares with OpenProtein
(:mod:`worker.providers.matching`): canonical comparison, the window, the bounds and the
choice among candidates.
"""

from __future__ import annotations

import pytest

from worker.providers.matching import (
    FIND_LOOKBACK_S,
    FIND_SLACK_S,
    Candidate,
    SearchBudget,
    SearchInconclusive,
    Verdict,
    canonical,
    iso_utc,
    parse_time,
    pick,
    search_since,
    worst,
)
from worker.providers.moderately.params import create_request
from worker.providers.moderately.records import execution_verdict, has_next_page
from worker.providers.types import JobSpec

FULL = "p" * 1000  # no room for the marker


def pipeline(job_id: str = "job-1", **params) -> tuple[str, dict]:
    params = {"pipelineConfigurationVersionId": "pcv_1", "pipelineInput": {"a": [1, 2]}} | params
    return job_id, create_request(JobSpec(job_id=job_id, kind="pipeline", params=params))[1]


def echoed(body: dict, **changes) -> dict:
    """The execution record a server would list for ``body``."""
    return {"pipelineExecutionId": "PeX1", "status": "running", "totalSteps": None,
            **body, **changes}


def test_the_job_id_in_the_summary_decides_alone():
    job_id, body = pipeline()
    assert execution_verdict("pipeline", echoed(body), body, job_id) is Verdict.MATCH
    other = echoed(body, pipelineInputSummary="jobfleet job job-2")
    assert execution_verdict("pipeline", other, body, job_id) is Verdict.DIFFERENT
    changed_input = echoed(body, pipelineInput={"normalised": True})  # still ours by the id
    assert execution_verdict("pipeline", changed_input, body, job_id) is Verdict.MATCH


def test_another_configuration_version_is_never_ours():
    job_id, body = pipeline()
    row = echoed(body, pipelineConfigurationVersionId="pcv_2")
    assert execution_verdict("pipeline", row, body, job_id) is Verdict.DIFFERENT


def test_without_a_marker_every_sent_field_must_echo_back_canonically_for_a_payload_match():
    job_id, body = pipeline(pipelineInputSummary=FULL, totalSteps=3)
    reordered = echoed(body, pipelineInput={"a": [1.0, 2]})  # 1.0 is 1 in JSON
    assert execution_verdict("pipeline", reordered, body, job_id) is Verdict.PAYLOAD
    assert execution_verdict("pipeline", echoed(body, pipelineInput={"a": [2, 1]}), body,
                             job_id) is Verdict.DIFFERENT
    assert execution_verdict("pipeline", echoed(body, totalSteps=4), body,
                             job_id) is Verdict.DIFFERENT


def test_a_record_missing_a_field_we_sent_leaves_the_answer_unsure():
    job_id, body = pipeline(pipelineInputSummary=FULL, totalSteps=3)
    row = echoed(body)
    del row["totalSteps"]
    assert execution_verdict("pipeline", row, body, job_id) is Verdict.UNSURE


def test_pagination_is_read_from_has_next_page_or_else_from_a_full_page():
    assert has_next_page({"pagination": {"hasNextPage": False}}, 100, 100) is False
    assert has_next_page({"items": []}, 100, 100) is True
    assert has_next_page({"items": []}, 99, 100) is False


# -- shared search helpers ------------------------------------------------------------------


def test_canonical_ignores_key_order_and_integral_floats_but_not_list_order():
    assert canonical({"b": 1.0, "a": [1, {"y": 2, "x": 1}]}) == canonical(
        {"a": [1, {"x": 1, "y": 2.0}], "b": 1})
    assert canonical([1, 2]) != canonical([2, 1])
    assert canonical({"a": True}) != canonical({"a": 1})


def test_the_window_allows_for_clock_skew_or_looks_back_15_minutes():
    assert search_since(1_000.0, now=5_000.0) == 1_000.0 - FIND_SLACK_S
    assert search_since(None, now=5_000.0) == 5_000.0 - FIND_LOOKBACK_S


@pytest.mark.parametrize(("text", "epoch"), [
    ("1970-01-01T00:01:00Z", 60.0),
    ("1970-01-01T00:01:00.500+00:00", 60.5),
    ("1970-01-01T00:01:00", 60.0),  # no offset: UTC, as the platforms write it
    ("yesterday", None),
    (None, None),
])
def test_timestamps_are_read_as_utc(text, epoch):
    assert parse_time(text) == epoch


def test_timestamps_are_sent_with_an_explicit_utc_offset():
    assert iso_utc(60.5) == "1970-01-01T00:01:00.500000+00:00"
    assert parse_time(iso_utc(60.5)) == 60.5


def candidate(remote_id: str, created: float) -> Candidate:
    return Candidate(remote_id, created, {})


def test_the_oldest_match_not_taken_is_picked_and_verdicts_stop_at_it():
    asked: list[str] = []
    verdicts = {"a": Verdict.DIFFERENT, "b": Verdict.MATCH, "c": Verdict.MATCH}

    def verdict(c: Candidate) -> Verdict:
        asked.append(c.remote_id)
        return verdicts[c.remote_id]

    found = pick([candidate("c", 3), candidate("a", 1), candidate("b", 2)], verdict,
                 lambda _: False, "p")
    assert found.remote_id == "b" and asked == ["a", "b"]
    found = pick([candidate("c", 3), candidate("b", 2)], verdict, lambda rid: rid == "b", "p")
    assert found.remote_id == "c"


def test_no_match_but_a_doubtful_candidate_is_inconclusive():
    with pytest.raises(SearchInconclusive, match="x1") as caught:
        pick([candidate("x1", 1)], lambda c: Verdict.UNSURE, lambda _: False, "p")
    assert caught.value.reason == "submit_unknown"
    assert pick([candidate("x1", 1)], lambda c: Verdict.UNSURE, lambda _: True, "p") is None


def test_a_payload_match_is_adopted_only_on_opt_in():
    candidates = [candidate("s1", 1)]
    with pytest.raises(SearchInconclusive) as caught:
        pick(candidates, lambda c: Verdict.PAYLOAD, lambda _: False, "moderately")
    assert caught.value.reason == "submit_unknown"
    assert str(caught.value) == (
        "moderately: remote job(s) s1 have exactly our inputs but nothing marks them as ours "
        "(a stranger's identical job would look the same); not adopted and not created again "
        "(JOBFLEET_ADOPT_BY_PAYLOAD=true adopts such a match)")
    found = pick(candidates, lambda c: Verdict.PAYLOAD, lambda _: False, "moderately", True)
    assert found.remote_id == "s1"


def test_a_marked_match_wins_over_an_older_payload_match():
    verdicts = {"old": Verdict.PAYLOAD, "ours": Verdict.MATCH}
    found = pick([candidate("old", 1), candidate("ours", 2)], lambda c: verdicts[c.remote_id],
                 lambda _: False, "p")
    assert found.remote_id == "ours"


def test_worst_verdict_wins():
    assert worst(Verdict.MATCH, Verdict.PAYLOAD) is Verdict.PAYLOAD
    assert worst(Verdict.PAYLOAD, Verdict.UNSURE) is Verdict.UNSURE
    assert worst(Verdict.MATCH, Verdict.UNSURE) is Verdict.UNSURE
    assert worst(Verdict.UNSURE, Verdict.DIFFERENT) is Verdict.DIFFERENT
    assert worst(Verdict.MATCH) is Verdict.MATCH


def test_a_search_stops_past_its_page_or_time_bound():
    now = [0.0]
    budget = SearchBudget("p", lambda: now[0], pages=2, seconds=10.0)
    budget.page()
    budget.page()
    with pytest.raises(SearchInconclusive, match="more than 2 pages"):
        budget.page()
    budget = SearchBudget("p", lambda: now[0], pages=5, seconds=10.0)
    now[0] = 11.0
    with pytest.raises(SearchInconclusive, match="still searching"):
        budget.check_time()
