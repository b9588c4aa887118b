"""Deep Origin list queries and bearer tokens, checked without a server."""

from __future__ import annotations

import json

import pytest

from emulator.clock import JobRecord, Plan
from emulator.deeporigin.dto import Execution, iso, render, resolve_version
from emulator.deeporigin.listing import QueryError, parse_query, parse_timestamp
from emulator.tokens import check_bearer, make_jwt

PLAN = Plan(queue_s=0.0, duration_s=10.0, outcome="succeeded", reason=None, price=1.0)


def job(remote_id: str, created_at: float, org: str = "acme", **body: str) -> JobRecord:
    execution = Execution(org, "tool.a", "1.0.0", {"inputs": {}, "projectId": "p", **body})
    return JobRecord("deeporigin", remote_id, created_at, PLAN, created_at, data=execution)


JOBS = {
    j.remote_id: j
    for j in [job("a", 10.0, session="s1"), job("b", 20.0, session="s1"), job("c", 20.0),
              job("d", 30.0, org="other")]
}


def run(now: float = 25.0, **params: object) -> tuple[list[str], int]:
    query = {k: json.dumps(v) if k == "filter" else str(v) for k, v in params.items()}
    rows, count = parse_query(query).run(JOBS, "acme", now)
    return [row.remote_id for row in rows], count


def test_rows_come_newest_first_with_the_id_breaking_ties_and_other_orgs_hidden():
    assert run() == (["c", "b", "a"], 3)
    assert run(order="executionId asc") == (["a", "b", "c"], 3)


def test_count_is_the_total_across_pages():
    assert run(page=1, pageSize=2) == (["a"], 3)


def test_filters_combine_equality_nesting_and_operators():
    assert run(filter={"session": "s1"}) == (["b", "a"], 2)
    assert run(filter={"tool": {"toolManifest": {"key": "tool.a"}}, "projectId": "p"})[1] == 3
    assert run(filter={"executionId": {"$in": ["a", "c", "d"]}}) == (["c", "a"], 2)
    assert run(now=25.0, filter={"status": {"$in": ["Completed"]}}) == (["a"], 1)


def test_created_at_gt_is_strict_and_accepts_any_iso_form():
    assert run(filter={"createdAt": {"$gt": iso(10.0)}}) == (["c", "b"], 2)
    assert run(filter={"createdAt": {"$gt": "1970-01-01T00:00:10.000001+00:00"}})[1] == 2
    assert parse_timestamp("1970-01-01T00:00:10") == 10.0


@pytest.mark.parametrize(
    "params",
    [{"filter": "[]"}, {"filter": '{"colour": 1}'}, {"filter": '{"session": {"$regex": "x"}}'},
     {"filter": '{"executionId": {"$in": "a"}}'}, {"pageSize": "0"}, {"order": "colour desc"},
     {"filter": '{"createdAt": {"$gt": "yesterday"}}'}],
)
def test_malformed_queries_raise_query_errors(params):
    with pytest.raises(QueryError):
        parse_query(params)


@pytest.mark.parametrize(("pin", "version"), [("latest", "1.0.0"), ("4", "4.0.0"),
                                               ("4.2", "4.2.0"), ("4.2.1", "4.2.1")])
def test_version_pins_resolve_to_full_semver(pin, version):
    assert resolve_version(pin) == version


def test_a_dto_carries_every_key_the_official_client_indexes():
    dto = render(JOBS["a"], now=100.0)
    assert dto["executionId"] == "a" and dto["tool"] == {"key": "tool.a", "version": "1.0.0"}
    assert dto["status"] == "Completed" and dto["completedAt"] == "1970-01-01T00:00:20.000Z"
    assert dto["projectId"] == "p" and dto["jobOutputs"]["result_file"]["file_path"]


def test_bearer_checks_accept_unsigned_jwts_with_a_future_exp_only():
    assert check_bearer(f"Bearer {make_jwt(now=0, ttl_s=100)}", now=50) is None
    assert check_bearer(f"Bearer {make_jwt(now=0, ttl_s=100)}", now=150) == "token expired"
    assert check_bearer("Bearer abc", now=0) == "token is not a JWT"
    assert check_bearer(None, now=0)
    token = make_jwt(now=0, ttl_s=100)
    assert check_bearer(f"Bearer {token}", 1, frozenset({"other"}))
    assert check_bearer(f"Bearer {token}", 1, frozenset({token})) is None
