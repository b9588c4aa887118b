"""Drive the official `deeporigin` 5.4.0 client against the emulator and check what it sees.

Runs inside the client's own virtualenv (`.venvs/deeporigin`), started by
`tests/conformance/test_deeporigin_official.py`, with HOME pointing at a temp dir (the SDK
writes curl dumps to ~/.deeporigin on every HTTP error). Configuration comes from env:
EMULATOR_URL (root, e.g. http://127.0.0.1:P), DO_TOKEN, DO_ORG_KEY, DO_PROJECT_ID.

It stays at the `client.executions.*` / `client.files.*` layer. Every check is an assert, so a
mismatch exits non-zero with a traceback; on success the last stdout line is a JSON summary
that the pytest side compares with the emulator's own stats.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import httpx
from deeporigin.exceptions import DeepOriginException
from deeporigin.platform.client import DeepOriginClient

TOOL = "deeporigin.docking"
FAST = {"duration_s": 0.2, "queue_s": 0.05}
WAIT = {"poll_interval": 0.05, "timeout": 15.0}


def payload(emulate: dict, **extra: object) -> dict:
    """What the SDK's payload builders pass as `data` (inputs/outputs/metadata)."""
    inputs = {"ligand": "CCO", "_emulator": emulate}
    return {"inputs": inputs, "outputs": {}, "metadata": {}, **extra}


def check_lifecycle(client: DeepOriginClient, scratch: Path) -> dict:
    """create -> get -> wait -> download the result file named in jobOutputs."""
    created = client.executions.create(tool_key=TOOL, tool_version="4", data=payload(FAST))
    assert created["status"] in {"Created", "Queued", "Running"}, created["status"]
    assert created["tool"]["key"] == TOOL and created["userInputs"]["ligand"] == "CCO"
    assert created["projectId"] == client.project_id and created["clusterId"]
    execution_id = created["executionId"]
    assert client.executions.get(execution_id)["executionId"] == execution_id
    (done,) = client.executions.wait(execution_id, **WAIT)
    assert done["status"] == "Completed", done
    remote = done["jobOutputs"]["result_file"]["file_path"]
    local = client.files.download(remote, local_path=scratch / "result.json")
    document = json.loads(Path(local).read_text())
    assert document["input_sha256"] == done["jobOutputs"]["result"]["input_sha256"]
    return done


def check_listing(client: DeepOriginClient, first: dict) -> list[str]:
    """fetch_all_pages over several pages, and the created_after filter."""
    more = [
        client.executions.create(tool_key=TOOL, tool_version="4", data=payload(FAST))["executionId"]
        for _ in range(4)
    ]
    listed = client.executions.list(
        fetch_all_pages=True, page_size=2, session=client._session, order="createdAt desc",
        tool_key=TOOL, project_id=client.project_id,
    )
    ids = [row["executionId"] for row in listed["data"]]
    assert listed["count"] == 5 and len(ids) == 5, listed["count"]
    assert set(ids) == {first["executionId"], *more} and len(set(ids)) == 5
    created_after = datetime.fromisoformat(first["createdAt"].replace("Z", "+00:00"))
    later = client.executions.list(session=client._session, created_after=created_after)
    assert {row["executionId"] for row in later["data"]} == set(more)
    check_search(client, first["executionId"], more)
    return [first["executionId"], *more]


def check_search(client: DeepOriginClient, done: str, others: list[str]) -> None:
    """The data-platform search filters by status on the server, pages, and counts."""
    found = client.executions.search(project_id=client.project_id, status="Completed",
                                     compute_job_id=done, with_total_count=True)
    [row] = found["data"]
    assert row["compute_job_id"] == done and row["status"] == "Completed", row
    assert row["project_id"] == client.project_id and row["tags"]["session"] == client._session
    assert found["meta"]["count"] == 1
    failed = client.executions.search(project_id=client.project_id, status="Failed",
                                      compute_job_id=done)
    assert failed["data"] == []
    mine = [{"column": "compute_job_id", "op": "in", "value": [done, *others]}]
    first_page = client.executions.search(project_id=client.project_id, extra_props=mine,
                                          limit=2, offset=0, select=["compute_job_id"],
                                          with_total_count=True)
    second_page = client.executions.search(project_id=client.project_id, extra_props=mine,
                                           limit=10, offset=2, select=["compute_job_id"])
    paged = [r["compute_job_id"] for r in first_page["data"] + second_page["data"]]
    assert sorted(paged) == sorted([done, *others]) and first_page["meta"]["count"] == 5


def check_cancel(client: DeepOriginClient) -> str:
    """cancel of a running execution sends GET + PATCH and leaves it Cancelled."""
    running = client.executions.create(
        tool_key=TOOL, tool_version="4", data=payload({"duration_s": 60, "queue_s": 0})
    )
    client.executions.cancel(running["executionId"])
    assert client.executions.get(running["executionId"])["status"] == "Cancelled"
    return running["executionId"]


def check_quote(client: DeepOriginClient) -> str:
    """approveAmount -1 quotes; confirm starts it; wait sees it complete."""
    quoted = client.executions.create(
        tool_key=TOOL, tool_version="4", data=payload({**FAST, "price": 2.5}, approveAmount=-1)
    )
    assert quoted["status"] == "Quoted"
    totals = [q["priceTotal"] for q in quoted["quotationResult"]["successfulQuotations"]]
    assert sum(totals) == 2.5
    confirmed = client.executions.confirm(quoted["executionId"])
    assert confirmed["status"] in {"Created", "Queued", "Running"}, confirmed["status"]
    (done,) = client.executions.wait(quoted["executionId"], **WAIT)
    assert done["status"] == "Completed"
    return quoted["executionId"]


def check_files(client: DeepOriginClient, scratch: Path) -> dict[str, str]:
    """Signed-URL upload/download, multipart upload, listing and delete."""
    source = scratch / "ligands.sdf"
    source.write_bytes(b"CCO\n$$$$\n" * 1000)
    (remote,) = client.files.upload_tree([source], "conformance/")
    fetched = Path(client.files.download(remote, local_path=scratch / "fetched.sdf"))
    assert fetched.read_bytes() == source.read_bytes()
    client.files.upload(source, "conformance/direct/ligands.sdf")
    keys = client.files.list("conformance/")
    assert set(keys) == {"conformance/ligands.sdf", "conformance/direct/ligands.sdf"}, keys
    direct = client.files.download(
        "conformance/direct/ligands.sdf", local_path=scratch / "direct.sdf", direct=True
    )
    assert Path(direct).read_bytes() == source.read_bytes()
    client.files.delete("conformance/direct/ligands.sdf")
    return {remote: hashlib.sha256(source.read_bytes()).hexdigest()}


def check_retries_on_5xx(client: DeepOriginClient, control: str, execution_id: str) -> None:
    """A permanent 5xx on GET is retried (4 requests in all) and then raised."""
    httpx.post(f"{control}/config", json={"provider": "deeporigin", "fault_5xx": 1.0})
    try:
        client.executions.get(execution_id)
        raise AssertionError("expected a DeepOriginException")
    except DeepOriginException as exc:
        assert exc.http_status in {500, 502, 503}, exc.http_status
    finally:
        httpx.post(f"{control}/config", json={"provider": "deeporigin", "fault_5xx": 0.0})


def main() -> int:
    """Run every check; print the JSON summary last."""
    root = os.environ["EMULATOR_URL"].rstrip("/")
    client = DeepOriginClient(
        base_url=f"{root}/deeporigin", token=os.environ["DO_TOKEN"],
        org_key=os.environ["DO_ORG_KEY"], project_id=os.environ["DO_PROJECT_ID"],
        retry_backoff_factor=0.01,
    )
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        first = check_lifecycle(client, scratch)
        listed = check_listing(client, first)
        cancelled = check_cancel(client)
        quoted = check_quote(client)
        files = check_files(client, scratch)
    check_retries_on_5xx(client, f"{root}/_emulator", first["executionId"])
    summary = {
        "session": client._session, "listed": listed, "cancelled": cancelled,
        "quoted": quoted, "files": files,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
