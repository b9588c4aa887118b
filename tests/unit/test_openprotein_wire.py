"""OpenProtein answers as the provider reads them: statuses, MSA bodies, token answers."""

from __future__ import annotations

import pytest
import requests

from worker.errors import BadResponse
from worker.providers.openprotein.auth import token_from_answer
from worker.providers.openprotein.records import fasta_of, remote_status
from worker.providers.types import RemoteState


def job(status: str, **extra) -> dict:
    return {"job_id": "j-1", "job_type": "/align/align", "status": status,
            "created_date": "2024-05-01T12:00:00Z", **extra}


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("PENDING", RemoteState.PENDING),
        ("RETRYING", RemoteState.PENDING),
        ("RUNNING", RemoteState.RUNNING),
        ("SUCCESS", RemoteState.SUCCEEDED),
        ("FAILURE", RemoteState.FAILED),
        ("CANCELED", RemoteState.CANCELLED),
    ],
)
def test_every_platform_status_maps_to_one_state(raw, state):
    status = remote_status(job(raw))
    assert status.state is state and status.raw == raw and status.detail is None


def test_a_failure_carries_the_platforms_message():
    assert remote_status(job("FAILURE", failure_message="no hits")).detail == "no hits"


@pytest.mark.parametrize("raw", ["CANCELLED", "success", "QUEUED"])
def test_an_unknown_status_is_a_bad_response_quoting_the_record(raw):
    with pytest.raises(BadResponse, match=raw):
        remote_status(job(raw))


def test_a_record_without_its_required_fields_is_a_bad_response():
    with pytest.raises(BadResponse, match="without job_id"):
        remote_status({"status": "SUCCESS"})


def response(body: bytes, content_type: str) -> requests.Response:
    made = requests.Response()
    made.status_code, made._content = 200, body
    made.headers["Content-Type"] = content_type
    return made


def test_an_msa_typed_as_fasta_is_kept_as_sent():
    body = b">seed\nMKTA\n>hit\nMK-A\n"
    assert fasta_of(response(body, "text/x-fasta")) == body


def test_an_msa_in_any_other_type_is_read_as_name_sequence_csv():
    assert fasta_of(response(b"seed,MKTA\nhit,MK-A\n", "text/csv")) == b">seed\nMKTA\n>hit\nMK-A\n"


def test_an_msa_that_is_neither_is_a_bad_response():
    with pytest.raises(BadResponse):
        fasta_of(response(b"<html>oops</html>", "text/html"))
    with pytest.raises(BadResponse):
        fasta_of(response(b"MKTA", "text/x-fasta"))


def test_a_token_is_renewed_thirty_seconds_before_it_expires():
    token = token_from_answer(
        {"access_token": "a", "refresh_token": "r", "expires_in": 900}, sent_at=1000.0
    )
    assert (token.expires_at, token.renew_at, token.refresh_token) == (1900.0, 1870.0, "r")


def test_a_short_lived_token_is_renewed_after_three_quarters_of_its_life():
    token = token_from_answer({"access_token": "a", "expires_in": 2}, sent_at=0.0)
    assert (token.expires_at, token.renew_at, token.refresh_token) == (2.0, 1.5, None)


def test_a_missing_lifetime_is_taken_as_fifteen_minutes():
    assert token_from_answer({"access_token": "a"}, sent_at=0.0).expires_at == 900.0


def test_a_token_answer_without_an_access_token_is_a_bad_response_that_quotes_nothing():
    with pytest.raises(BadResponse) as caught:
        token_from_answer({"refresh_token": "secret-refresh"}, sent_at=0.0)
    assert "secret-refresh" not in str(caught.value)
