"""Drive the official `openprotein-python` 0.17.0 client against the emulator.

Runs inside the client's own virtualenv (`.venvs/openprotein`), started by
`tests/conformance/test_openprotein_official.py`, with HOME pointing at a temp dir (the SDK
keeps its token store in ~/.openprotein). Configuration comes from env: EMULATOR_URL (root,
e.g. http://127.0.0.1:P), OP_USERNAME, OP_PASSWORD.

Every check is an assert, so a mismatch exits non-zero with a traceback; on success the last
stdout line is a JSON summary that the pytest side compares with the emulator's own stats.
"""

from __future__ import annotations

import io
import json
import os
import sys

import numpy as np
import openprotein
import requests
from openprotein.errors import AuthError, JobFailedException

SEED = "MKTAYIAKQRQISFVKSHFSRQ"
ALIGNMENT = b">query\nMKT-YIAK\n>hit1\nMKTAYIAK\n"
MODEL = "esm2_t6_8M_UR50D"
POLL = {"interval": 0.1, "timeout": 30}


def check_seed_msa(session: openprotein.OpenProtein) -> str:
    """create_msa -> wait -> the seed first, then aligned homologs."""
    future = session.align.create_msa(SEED.encode())
    assert future.job.job_type == "/align/align" and future.job.status == "PENDING"
    rows = list(future.wait(**POLL))
    assert rows[0] == ("seed", SEED) and len(rows) == 9, rows
    assert all(len(sequence) == len(SEED) for _, sequence in rows)
    assert future.job.status == "SUCCESS" and future.done()
    return future.id


def check_uploaded_msa(session: openprotein.OpenProtein) -> str:
    """upload_msa of an in-memory alignment comes back as sent; the seed reads as CSV."""
    future = session.align.upload_msa(io.BytesIO(ALIGNMENT))
    assert list(future.wait(**POLL)) == [("query", "MKT-YIAK"), ("hit1", "MKTAYIAK")]
    return future.id


def check_reload_and_list(session: openprotein.OpenProtein, ids: list[str]) -> None:
    """load_job gives back an MSA future; the job list sees every job, filters work."""
    reloaded = session.load_job(ids[0])
    assert type(reloaded).__name__ == "MSAFuture" and reloaded.id == ids[0]
    assert list(reloaded.get())[0] == ("seed", SEED)
    listed = [job.job_id for job in session.jobs.list()]
    assert set(ids) <= set(listed), listed
    done = session.jobs.list(status="SUCCESS", job_type="/align/align")
    assert {job.job_id for job in done} >= set(ids[:2])
    assert len(session.jobs.list(limit=1)) == 1


def check_embeddings(session: openprotein.OpenProtein) -> str:
    """Model discovery, a mean embedding per sequence, and per-residue without reduction."""
    model = getattr(session.embedding, MODEL)
    future = model.embed([b"MKTA", b"MKTAYIAK"])
    results = future.wait(**POLL)
    assert [seq for seq, _ in results] == [b"MKTA", b"MKTAYIAK"]
    assert all(isinstance(a, np.ndarray) and a.shape == (320,) for _, a in results)
    per_residue = model.embed(["MKTAY"], reduction=None).wait(**POLL)
    assert per_residue[0][1].shape == (5, 320) and per_residue[0][1].dtype == np.float32
    return future.id


def check_failure(session: openprotein.OpenProtein, control: str) -> str:
    """A job the platform fails raises JobFailedException carrying its failure_message."""
    requests.post(f"{control}/config", json={"provider": "openprotein", "failure_rate": 1.0},
                  timeout=10).raise_for_status()
    try:
        future = session.align.create_msa(SEED.encode())
        try:
            future.wait(**POLL)
            raise AssertionError("expected JobFailedException")
        except JobFailedException as exc:
            assert "emulated failure" in str(exc), str(exc)
    finally:
        requests.post(f"{control}/config", json={"provider": "openprotein", "failure_rate": 0.0},
                      timeout=10)
    return future.id


def check_bad_credentials(backend: str) -> None:
    """A refused login is the SDK's AuthError (a user with no stored token must log in)."""
    try:
        openprotein.connect("nobody", "wrong", backend=backend)
        raise AssertionError("expected AuthError")
    except AuthError:
        pass


def main() -> int:
    """Run every check; print the JSON summary last."""
    root = os.environ["EMULATOR_URL"].rstrip("/")
    backend = f"{root}/openprotein/"
    session = openprotein.connect(os.environ["OP_USERNAME"], os.environ["OP_PASSWORD"],
                                  backend=backend)
    ids = [check_seed_msa(session), check_uploaded_msa(session)]
    check_reload_and_list(session, ids)
    embedded = check_embeddings(session)
    failed = check_failure(session, f"{root}/_emulator")
    check_bad_credentials(backend)
    print(json.dumps({"msa": ids, "embed": embedded, "failed": failed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
