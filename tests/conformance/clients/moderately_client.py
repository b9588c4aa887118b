"""Drive the official `moderatelyai-sdk` 0.2.7 client against the emulator and check what it sees.

Runs inside the client's own virtualenv (`.venvs/moderately`), started by
`tests/conformance/test_moderately_official.py`. Configuration comes from env: EMULATOR_URL
(root, e.g. http://127.0.0.1:P), MODERATELY_API_KEY, MODERATELY_TEAM_ID.

It stays at the `client.agent_executions.*`, `client.pipeline_executions.*` and
`client.files.*` layer, plus the models those return. Every check is an assert, so a mismatch
exits non-zero with a traceback; on success the last stdout line is a JSON summary that the
pytest side compares with the emulator's own stats.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
from pathlib import Path

import httpx
from moderatelyai_sdk import APIError, AsyncModeratelyAI, ModeratelyAI, RateLimitError

AGENT_ID = "AgT5bN8mQ2wE4rT6yU9iO"
CONFIG_VERSION = "PcV2hJ5kL8mN1pQ4rS7tU"
FAST = {"duration_s": 0.2, "queue_s": 0.05}
LONG = {"duration_s": 60.0, "queue_s": 0.0}
CSV = b"a,b\n1,2\n3,4\n5,6\n7,8\n"


def check_agents(client: ModeratelyAI) -> dict:
    """create (client form and OpenAPI form) -> retrieve -> wait; cancel; list by agent."""
    created = client.agent_executions.create(
        agent_id=AGENT_ID, input_data={"q": "hi", "_emulator": FAST}
    )
    execution_id = created["agentExecutionId"]
    assert created["status"] == "pending" and created["agentInput"]["q"] == "hi", created
    assert client.agent_executions.retrieve(execution_id)["agentExecutionId"] == execution_id
    done = client.agent_executions.wait_for_completion(execution_id, timeout=10, poll_interval=0.05)
    assert done["status"] == "completed" and done["agentOutput"]["result"]["score"] >= 0, done

    openapi_form = client.agent_executions.create(
        agent_id=AGENT_ID, agentConfigurationVersionId="AcV7pL0qR3sT6uW9xZ2bD",
        agentInput={"q": "x", "_emulator": LONG}, agentInputSummary="a question",
    )
    assert openapi_form["agentConfigurationVersionId"] == "AcV7pL0qR3sT6uW9xZ2bD"
    cancelled = client.agent_executions.cancel(openapi_form["agentExecutionId"])
    assert cancelled["status"] == "cancelled" and cancelled["cancelledAt"], cancelled
    try:
        client.agent_executions.cancel(openapi_form["agentExecutionId"])
        raise AssertionError("cancelling a cancelled execution succeeded")
    except APIError as exc:  # the SDK never raises its ConflictError
        assert exc.status_code == 409, exc

    listed = client.agent_executions.list(agent_id=AGENT_ID, page_size=1)
    assert listed["pagination"]["totalItems"] == 2 and listed["pagination"]["hasNextPage"]
    assert listed["items"][0]["agentExecutionId"] == openapi_form["agentExecutionId"]  # newest
    return {"agent": execution_id, "agent_cancelled": openapi_form["agentExecutionId"]}


def check_pipelines(client: ModeratelyAI) -> dict:
    """create -> retrieve -> wait -> output (inline, gzip S3, plain S3); cancel; list."""
    pipelines = client.pipeline_executions
    inline = pipelines.create(
        pipeline_configuration_version_id=CONFIG_VERSION,
        pipeline_input={"a": 1, "_emulator": FAST}, pipeline_input_summary="sum", total_steps=3,
    )
    repr(inline)  # the model's repr does arithmetic on the step counts
    assert inline.status == "pending" and inline.progress_data == {} and inline.total_steps == 3
    assert pipelines.retrieve(inline.execution_id).pipeline_input_summary == "sum"
    done = inline.wait_for_completion(timeout=10, poll_interval=0.05, show_progress=False)
    assert done.is_completed and done.current_step == 3, repr(done)
    assert pipelines.get_output(inline.execution_id) == done.pipeline_output

    outputs = {}
    for compression in ("gzip", "none"):
        emulate = {**FAST, "output": {"size_bytes": 80_000, "compression": compression}}
        big = pipelines.create(pipeline_configuration_version_id=CONFIG_VERSION,
                               pipeline_input={"big": compression, "_emulator": emulate},
                               pipeline_input_summary="big")
        big.wait_for_completion(timeout=10, poll_interval=0.05, show_progress=False)
        document = big.get_output()  # the model's own S3 path
        assert len(document["padding"]) > 70_000 and "score" in document["result"], compression
        assert pipelines.get_output(big.execution_id) == document
        outputs[compression] = big.execution_id

    long = pipelines.create(pipeline_configuration_version_id=CONFIG_VERSION,
                            pipeline_input={"_emulator": LONG}, pipeline_input_summary="long")
    cancelled = pipelines.cancel(long.execution_id, reason="stop")
    assert cancelled["status"] == "cancelled", cancelled
    try:
        pipelines.create(pipeline_configuration_version_id=CONFIG_VERSION, pipeline_input={},
                         pipeline_input_summary="s" * 1001)
        raise AssertionError("a 1,001-character summary was accepted")
    except APIError as exc:
        assert exc.status_code == 400, exc
    listed = pipelines.list(statuses=["completed"], page_size=10, order_by="createdAt")
    assert [item.execution_id for item in listed["items"]] == [
        inline.execution_id, outputs["gzip"], outputs["none"]
    ]
    return {"pipeline": inline.execution_id, "pipeline_cancelled": long.execution_id}


def check_files(client: ModeratelyAI, scratch: Path) -> dict:
    """upload -> list by SHA-256 -> retrieve -> download (resource and model) -> delete."""
    sha256 = hashlib.sha256(CSV).hexdigest()
    uploaded = client.files.upload(CSV, name="tiny.csv")
    assert uploaded.is_ready() and uploaded.is_csv() and uploaded.file_hash == sha256
    found = client.files.list(file_hashes=sha256)
    assert [item.file_id for item in found["items"]] == [uploaded.file_id], found
    assert client.files.list(file_hashes="0" * 64)["items"] == []
    assert client.files.download(uploaded.file_id) == CSV
    target = scratch / "copy" / "tiny.csv"
    client.files.retrieve(uploaded.file_id).download(path=target)
    assert target.read_bytes() == CSV

    doomed = client.files.upload(b"temporary", name="doomed.txt")
    assert client.files.delete(doomed.file_id) is None
    try:
        client.files.retrieve(doomed.file_id)
        raise AssertionError("a deleted file could still be retrieved")
    except APIError as exc:
        assert exc.status_code == 404, exc
    return {"file": uploaded.file_id, "sha256": sha256}


def check_rate_limit(client: ModeratelyAI, control: str) -> None:
    """An injected 429 reaches the caller as RateLimitError with the integer Retry-After."""
    httpx.post(f"{control}/config", json={"provider": "moderately", "fault_429": 1.0,
                                          "retry_after": 3}).raise_for_status()
    try:
        client.files.list()
        raise AssertionError("an injected 429 was not raised")
    except RateLimitError as exc:
        assert exc.retry_after == 3, exc
    finally:
        httpx.post(f"{control}/config", json={"provider": "moderately", "fault_429": 0.0})


async def check_async_cancel(base_url: str) -> str:
    """The async client cancels an agent execution with PATCH."""
    async with AsyncModeratelyAI(base_url=base_url) as client:
        created = await client.agent_executions.create(agent_id=AGENT_ID,
                                                       input_data={"_emulator": LONG})
        cancelled = await client.agent_executions.cancel(created["agentExecutionId"])
        assert cancelled["status"] == "cancelled", cancelled
        return created["agentExecutionId"]


def main() -> None:
    root = os.environ["EMULATOR_URL"].rstrip("/")
    base_url = f"{root}/moderately"
    client = ModeratelyAI(base_url=base_url, max_retries=0)  # key and team from the env
    summary: dict = {"team": client.team_id}
    with tempfile.TemporaryDirectory() as scratch:
        summary |= check_agents(client)
        summary |= check_pipelines(client)
        summary |= check_files(client, Path(scratch))
    check_rate_limit(client, f"{root}/_emulator")
    summary["async_cancelled"] = asyncio.run(check_async_cancel(base_url))
    client.close()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
