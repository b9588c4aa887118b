"""The OpenProtein emulator over real HTTP: login and refresh, MSA and embedding jobs, lists.

Each test runs against this module's own emulator (`fresh_emulator`, reset before each test),
started with two accounts so that ownership can be checked. Token expiry gets a separate
emulator whose access tokens live one second. Jobs pin their timings with `_emulator`.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from emulator.control import EmulatorControl, EmulatorError, start_emulator
from tests.fixtures.emulator import FIXTURE_ARGS
from tests.unit.test_openprotein_emulator import load_npy

pytestmark = pytest.mark.integration

USERS = ("--op-user", "demo:demo", "--op-user", "alice:wonderland")
FAST = {"duration_s": 0.1, "queue_s": 0.02}
SEED = "MKTAYIAKQRQISFVKSHFSRQ"
MODEL = "esm2_t6_8M_UR50D"


@pytest.fixture(scope="module")
def private_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorControl]:
    """This module's emulator, with a second account (overrides the shared fixture)."""
    log_path = tmp_path_factory.mktemp("emulator-openprotein") / "emulator.log"
    with start_emulator((*FIXTURE_ARGS, *USERS), log_path=log_path) as process:
        yield process.control


class OpenProtein:
    """A bare-bones client speaking as the official client does."""

    def __init__(self, control: EmulatorControl, user: str = "demo", password: str = "demo"):
        self.base = control.base_url("openprotein") + "/"
        self.http = requests.Session()
        self.tokens = self.login(user, password).json()
        self.http.headers["Authorization"] = f"Bearer {self.tokens['access_token']}"

    def login(self, user: str, password: str, path: str = "v1/auth/login") -> requests.Response:
        return requests.post(self.base + path, data={"username": user, "password": password},
                             headers={"X-Token-Delivery": "body"}, timeout=5)

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.http.get(self.base + path, params=params, timeout=5)

    def msa(self, fasta: str, is_seed: bool = True, emulate: dict | None = None):
        form = {"_emulator": json.dumps(emulate)} if emulate is not None else None
        return self.http.post(self.base + "v1/align/msa", params={"is_seed": str(is_seed)},
                              files={"msa_file": ("msa_file", fasta.encode())}, data=form,
                              timeout=5)

    def seed_job(self, emulate: dict | None = None, seed: str = SEED) -> dict[str, Any]:
        response = self.msa(f">seed\n{seed}", emulate=emulate or FAST)
        assert response.status_code == 200, response.text
        return response.json()

    def embed(self, sequences: list[str], reduction: str | None = "MEAN", **extra: Any):
        body = {"sequences": sequences, "_emulator": FAST, **extra}
        if reduction is not None:
            body["reduction"] = reduction
        return self.http.post(f"{self.base}v1/embeddings/models/{MODEL}/embed", json=body,
                              timeout=5)

    def wait(self, job_id: str, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(f"v1/jobs/{job_id}").json()
            if job["status"] in ("SUCCESS", "FAILURE", "CANCELED") or time.monotonic() > deadline:
                return job
            time.sleep(0.03)


@pytest.fixture
def client(fresh_emulator: EmulatorControl) -> OpenProtein:
    return OpenProtein(fresh_emulator)


def stats(control: EmulatorControl) -> dict[str, Any]:
    return control.provider_stats("openprotein")


def test_login_answers_tokens_in_the_body_and_counts_per_user(fresh_emulator, client):
    assert set(client.tokens) == {"access_token", "refresh_token", "expires_in", "token_type"}
    assert client.tokens["expires_in"] == 900
    wrong = client.login("demo", "nope")
    assert wrong.status_code == 401 and wrong.json() == {"detail": "Incorrect username or password"}
    assert client.login("demo", "").status_code == 401
    assert requests.post(client.base + "v1/auth/login", data={"username": "x"}).status_code == 422
    counters = stats(fresh_emulator)
    assert counters["logins_by_user"] == {"demo": 1}
    assert counters["login_failures_by_user"] == {"demo": 2}


def test_every_api_route_needs_a_valid_bearer_token(fresh_emulator, client):
    assert requests.get(client.base + "v1/jobs", timeout=5).status_code == 401
    forged = requests.get(client.base + "v1/jobs", timeout=5,
                          headers={"Authorization": "Bearer " + client.tokens["refresh_token"]})
    assert forged.status_code == 401 and forged.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("v1/jobs").status_code == 200
    assert stats(fresh_emulator)["token_rejections"] == 2


def test_a_refresh_rotates_the_pair_and_the_old_refresh_token_stops_working(fresh_emulator, client):
    old = client.tokens["refresh_token"]
    renewed = client.http.post(client.base + "v1/auth/refresh", json={"refresh_token": old})
    assert renewed.status_code == 200 and renewed.json()["refresh_token"] != old
    again = client.http.post(client.base + "v1/auth/refresh", json={"refresh_token": old})
    assert again.status_code == 401 and "already used" in again.json()["detail"]
    headers = {"Authorization": f"Bearer {renewed.json()['access_token']}"}
    assert requests.get(client.base + "v1/jobs", headers=headers, timeout=5).status_code == 200
    assert stats(fresh_emulator)["refreshes_by_user"] == {"demo": 1}


def test_a_reset_forgets_every_session(fresh_emulator, client):
    fresh_emulator.reset()
    assert client.get("v1/jobs").status_code == 401


def test_the_legacy_login_gives_an_access_token_only(client):
    answer = client.login("alice", "wonderland", "v1/login/access-token")
    assert answer.status_code == 200 and "refresh_token" not in answer.json()


def test_an_expired_access_token_is_a_401_and_a_refresh_gives_a_working_one(tmp_path):
    args = (*FIXTURE_ARGS, "--op-token-ttl", "0.5")
    with start_emulator(args, log_path=tmp_path / "emulator.log") as process:
        client = OpenProtein(process.control)
        assert client.tokens["expires_in"] == 0.5
        time.sleep(0.6)
        expired = client.get("v1/jobs")
        assert expired.status_code == 401 and expired.json()["detail"] == "access token expired"
        renewed = client.http.post(client.base + "v1/auth/refresh",
                                   json={"refresh_token": client.tokens["refresh_token"]})
        client.http.headers["Authorization"] = f"Bearer {renewed.json()['access_token']}"
        assert client.get("v1/jobs").status_code == 200


def test_a_seed_job_runs_to_success_and_serves_its_msa_as_fasta(client):
    created = client.seed_job()
    assert created["job_type"] == "/align/align" and created["status"] == "PENDING"
    assert created["sequence_length"] == len(SEED) and created["created_date"].endswith("Z")
    done = client.wait(created["job_id"])
    assert done["status"] == "SUCCESS" and done["progress_counter"] == 100 and done["end_date"]
    msa = client.get("v1/align/inputs", job_id=created["job_id"], msa_type="GENERATED")
    assert msa.status_code == 200 and msa.headers["Content-Type"] == "text/x-fasta"
    lines = msa.text.splitlines()
    assert lines[:2] == [">seed", SEED] and len(lines) == 18
    assert all(len(row) == len(SEED) for row in lines[1::2])
    raw = client.get("v1/align/inputs", job_id=created["job_id"], msa_type="RAW")
    assert raw.headers["Content-Type"].startswith("text/csv") and raw.text == f"seed,{SEED}\n"
    assert client.get(f"v1/jobs/{created['job_id']}/args").json() == {"is_seed": True}


def test_an_uploaded_alignment_comes_back_as_it_was_sent(client):
    response = client.msa(">q\nMKT-YIAK\n>h1\nMKTAYIAK\n", is_seed=False, emulate=FAST)
    job_id = response.json()["job_id"]
    assert client.wait(job_id)["status"] == "SUCCESS"
    msa = client.get("v1/align/inputs", job_id=job_id, msa_type="GENERATED")
    assert msa.text == ">q\nMKT-YIAK\n>h1\nMKTAYIAK\n"


def test_bad_msa_requests_are_refused_and_results_wait_for_success(client):
    assert client.msa(">a\nMKTA\n>b\nMKTA").status_code == 400  # two seeds
    assert client.msa(">a\nMKTA", emulate={"duration": 1}).status_code == 400
    no_file = client.http.post(client.base + "v1/align/msa", params={"is_seed": "True"},
                               data={"x": "1"}, timeout=5)
    assert no_file.status_code == 422
    running = client.seed_job({"duration_s": 30})
    early = client.get("v1/align/inputs", job_id=running["job_id"], msa_type="GENERATED")
    assert early.status_code == 409 and "not available" in early.json()["detail"]


def test_the_model_catalogue_lists_models_that_embed_without_a_prompt(client):
    assert MODEL in client.get("v1/embeddings/models").json()
    verbose = client.get("v1/embeddings/models", verbose="true").json()
    assert {"model_id", "description", "dimension"} <= set(verbose[0])
    assert client.get(f"v1/embeddings/models/{MODEL}").json()["dimension"] == 320
    assert client.get("v1/embeddings/models/nope").status_code == 404


def test_an_embedding_job_serves_one_npy_per_sequence(client):
    created = client.embed(["MKTA", "MKTAYIAK", "MKTA"]).json()
    assert created["job_type"] == "/embeddings/embed" and created["num_records"] == 2
    assert client.wait(created["job_id"])["status"] == "SUCCESS"
    base = f"v1/embeddings/embed/{created['job_id']}"
    assert client.get(f"{base}/sequences").json() == ["MKTA", "MKTAYIAK"]
    shape, _ = load_npy(client.get(f"{base}/MKTAYIAK").content)
    assert shape == (320,)
    assert client.get(f"{base}/WWWW").status_code == 404
    stream = client.get(f"v1/embeddings/{created['job_id']}/stream").content
    (first,) = struct.unpack(">Q", stream[:8])
    assert stream[8 : 8 + first] == client.get(f"{base}/MKTA").content


def test_without_a_reduction_an_embedding_has_one_row_per_residue(client):
    job_id = client.embed(["MKTAY"], reduction=None).json()["job_id"]
    client.wait(job_id)
    shape, _ = load_npy(client.get(f"v1/embeddings/embed/{job_id}/MKTAY").content)
    assert shape == (5, 320)


def test_bad_embedding_requests_are_refused(client):
    assert client.embed(["mkta"]).status_code == 400
    assert client.embed(["MKTA"], reduction="MAX").status_code == 400
    assert client.embed(["A" * 2000]).status_code == 400
    assert client.embed([]).status_code == 400


def test_the_override_decides_failure_and_reason_or_refuses_the_create(fresh_emulator, client):
    failed = client.seed_job({**FAST, "outcome": "failed", "reason": "no homologs found"})
    done = client.wait(failed["job_id"])
    assert done["status"] == "FAILURE" and done["failure_message"] == "no homologs found"
    refused = client.embed(["MKTA"], _emulator={"reject": {"status": 402, "message": "no credit"}})
    assert refused.status_code == 402 and refused.json() == {"detail": "no credit"}
    assert stats(fresh_emulator)["jobs_created"] == 1


def test_an_override_planned_ahead_applies_to_a_create_that_carries_none(fresh_emulator, client):
    fresh_emulator.plan("openprotein", {"MKTAYIAKQ": {**FAST, "outcome": "failed",
                                                     "reason": "planned"},
                                        "MKTAY": {"reject": {"status": 402, "message": "no"}}})
    plain = client.msa(">seed\nMKTAYIAKQ")  # what the official client (and our worker) sends
    done = client.wait(plain.json()["job_id"])
    assert done["status"] == "FAILURE" and done["failure_message"] == "planned"
    body = {"sequences": ["MKTAY"], "reduction": "MEAN"}
    refused = client.http.post(f"{client.base}v1/embeddings/models/{MODEL}/embed", json=body,
                               timeout=5)
    assert refused.status_code == 402


def test_a_malformed_plan_or_an_unknown_provider_is_refused(fresh_emulator):
    with pytest.raises(EmulatorError, match="400"):
        fresh_emulator.plan("openprotein", {"A": {"duration_s": 1}, "B": {"typo": 1}})
    with pytest.raises(EmulatorError, match="400"):
        fresh_emulator.plan("nowhere", {"A": {"duration_s": 1}})


def test_retrying_and_canceled_are_reachable_through_the_override(client):
    retrying = client.seed_job({"queue_s": 0, "duration_s": 30, "retrying_s": 30})
    assert client.get(f"v1/jobs/{retrying['job_id']}").json()["status"] == "RETRYING"
    cancelled = client.seed_job({"queue_s": 0, "duration_s": 30, "cancel_after_s": 0.05})
    assert client.wait(cancelled["job_id"])["status"] == "CANCELED"


def test_there_is_no_cancel_endpoint(client):
    job_id = client.seed_job()["job_id"]
    assert client.http.delete(f"{client.base}v1/jobs/{job_id}", timeout=5).status_code == 405
    cancel = client.http.post(f"{client.base}v1/jobs/{job_id}/cancel", timeout=5)
    assert cancel.status_code in (404, 405)


def test_the_list_is_a_bare_array_newest_first_with_working_filters(fresh_emulator, client):
    def apart(job_id: str) -> str:  # created_date has milliseconds; ties list by id
        time.sleep(0.005)
        return job_id

    msa_ids = [apart(client.seed_job()["job_id"]) for _ in range(3)]
    embed_id = apart(client.embed(["MKTA"]).json()["job_id"])
    long_id = apart(client.seed_job({"duration_s": 30})["job_id"])
    OpenProtein(fresh_emulator, "alice", "wonderland").seed_job()
    time.sleep(0.3)
    everything = client.get("v1/jobs", page_size=100).json()
    assert [job["job_id"] for job in everything] == [long_id, embed_id, *reversed(msa_ids)]
    done = client.get("v1/jobs", status="SUCCESS", job_type="/align/align").json()
    assert [job["job_id"] for job in done] == list(reversed(msa_ids))
    page = client.get("v1/jobs", page_size=2, page_offset=1).json()
    assert [job["job_id"] for job in page] == [embed_id, msa_ids[2]]
    since = client.get("v1/jobs", more_recent_than=everything[1]["created_date"]).json()
    assert [job["job_id"] for job in since] == [long_id]
    assert client.get("v1/jobs", status="DONE").status_code == 422
    assert client.get("v1/jobs", assay_id="a-1").json() == []


def test_another_users_job_is_not_found(fresh_emulator, client):
    theirs = OpenProtein(fresh_emulator, "alice", "wonderland").seed_job()["job_id"]
    assert client.get(f"v1/jobs/{theirs}").status_code == 404
    assert client.get("v1/align/inputs", job_id=theirs, msa_type="RAW").status_code == 404


def test_stats_count_duplicate_payloads_and_wire_statuses(fresh_emulator, client):
    queued = {"queue_s": 30, "duration_s": 1}
    for _ in range(2):
        client.seed_job(queued)
    client.seed_job(queued, seed="MKTA")
    counters = stats(fresh_emulator)
    assert counters["jobs_created"] == 3 and counters["duplicate_payloads"] == 1
    assert counters["jobs_by_status"] == {"PENDING": 3}


def test_faults_hit_the_api_but_not_the_control_routes(fresh_emulator, client):
    fresh_emulator.configure("openprotein", fault_5xx=1.0)
    assert client.get("v1/jobs").status_code in (500, 502, 503)
    assert stats(fresh_emulator)["faults"]["5xx"] == 1
