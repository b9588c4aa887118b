"""A platform answering a wrong shape or an unknown status: the exact error, with the raw body."""

import pytest

from worker.errors import BadResponse
from worker.providers.deeporigin.records import remote_status as deeporigin_status
from worker.providers.moderately.records import remote_status as moderately_status
from worker.providers.openprotein.records import remote_status as openprotein_status

DO_OK = {"executionId": "e1", "status": "Running", "tool": {"key": "t", "version": "1"}}
OP_OK = {"job_id": "j1", "job_type": "/align/align", "status": "RUNNING"}


@pytest.mark.parametrize(
    ("read", "record", "message", "raw"),
    [
        (deeporigin_status, {**DO_OK, "status": "Exploded"},
         "unknown execution status 'Exploded'", '"status": "Exploded"'),
        (deeporigin_status, {"status": "Running"},
         "execution record without executionId, status, tool", '{"status": "Running"}'),
        (deeporigin_status, ["a", "list"],
         "execution record without executionId, status, tool", '["a", "list"]'),
        (openprotein_status, {**OP_OK, "status": "MELTED"},
         "unknown job status 'MELTED'", '"status": "MELTED"'),
        (openprotein_status, {"job_id": 7, "status": "RUNNING"},
         "job record without job_id, job_type, status", '"job_id": 7'),
        (lambda r: moderately_status("pipeline", r),
         {"pipelineExecutionId": "p1", "status": "vanished"},
         "unknown pipeline execution status 'vanished'", '"status": "vanished"'),
    ],
)
def test_an_unusable_status_record_fails_with_the_exact_reason_and_raw_body(
    read, record, message, raw
):
    with pytest.raises(BadResponse) as caught:
        read(record)
    assert caught.value.message == message
    assert raw in caught.value.body
    assert caught.value.reason == "bad_response"
