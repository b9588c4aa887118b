"""What the emulator keeps per execution, and the outputs it makes up for them.

Agent and pipeline executions share the job table (ids never collide), each job's `data` an
`Execution` that says which kind it is. Outputs are deterministic: derived from a hash of the
input minus the reserved `_emulator` object, so a client can check what it got back.

The `_emulator` override takes one key besides the shared clock keys: `output`, which picks
how a pipeline's output is delivered by `GET /pipeline-executions/{id}/output`:

    "_emulator": {"duration_s": 1, "output": {"delivery": "inline" | "s3",
                  "compression": "gzip" | "none", "size_bytes": 200000}}

`size_bytes` pads the output to about that size; `delivery` defaults to inline up to
`INLINE_MAX_BYTES` and S3 above it; S3 objects are gzip-compressed unless told otherwise.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from typing import Any

from emulator.blobs import Blob
from emulator.clock import OVERRIDE_FIELD, JobRecord, OverrideError
from emulator.provider import canonical_hash

AGENT, PIPELINE = "agent", "pipeline"
# Large outputs go to S3 on the real platform; its threshold is unpublished, 64 KiB is ours.
INLINE_MAX_BYTES = 64 * 1024
MAX_PAD_BYTES = 64 * 1024 * 1024  # a padded output is held in memory while it is served
DELIVERIES = ("auto", "inline", "s3")
COMPRESSIONS = ("gzip", "none")
OUTPUT_KEY = "output"


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """How a pipeline's output is delivered (the `_emulator.output` override)."""

    delivery: str = "auto"
    compression: str = "gzip"
    size_bytes: int = 0


@dataclass(slots=True)
class Execution:
    """The Moderately part of a job record (`JobRecord.data`)."""

    kind: str
    team: str
    seq: int  # insertion order: the list endpoints' tie-breaker
    config_version_id: str
    input: dict[str, Any]
    summary: str
    body: dict[str, Any]
    agent_id: str | None = None
    output_spec: OutputSpec = field(default_factory=OutputSpec)
    cancel_reason: str | None = None
    output: dict[str, Any] | None = None  # made on first use, then kept
    s3_object: Blob | None = None


def split_override(raw: Any) -> tuple[Any, OutputSpec]:
    """Separate our `output` key from the clock's keys; raises OverrideError on a bad value."""
    if not isinstance(raw, dict) or OUTPUT_KEY not in raw:
        return raw, OutputSpec()
    rest = {key: value for key, value in raw.items() if key != OUTPUT_KEY}
    return rest, _output_spec(raw[OUTPUT_KEY])


def _output_spec(raw: Any) -> OutputSpec:
    prefix = f"{OVERRIDE_FIELD}.{OUTPUT_KEY}"
    if not isinstance(raw, dict):
        raise OverrideError(f"{prefix} must be an object")
    unknown = sorted(set(raw) - {"delivery", "compression", "size_bytes"})
    if unknown:
        raise OverrideError(f"{prefix}: unknown key(s) {', '.join(unknown)}")
    spec = OutputSpec(**raw)
    if spec.delivery not in DELIVERIES:
        raise OverrideError(f"{prefix}.delivery must be one of {', '.join(DELIVERIES)}")
    if spec.compression not in COMPRESSIONS:
        raise OverrideError(f"{prefix}.compression must be one of {', '.join(COMPRESSIONS)}")
    size = spec.size_bytes
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_PAD_BYTES:
        raise OverrideError(f"{prefix}.size_bytes must be an integer 0-{MAX_PAD_BYTES}")
    return spec


def output_of(job: JobRecord) -> dict[str, Any]:
    """The execution's output: a score derived from its input, padded if asked."""
    execution: Execution = job.data
    if execution.output is None:
        clean = {k: v for k, v in execution.input.items() if k != OVERRIDE_FIELD}
        digest = canonical_hash({"kind": execution.kind, "input": clean})
        result = {"input_sha256": digest, "score": round(int(digest[:8], 16) / 0xFFFFFFFF, 6)}
        output: dict[str, Any] = {"result": result}
        missing = execution.output_spec.size_bytes - len(_encode(output))
        if missing > 0:
            output["padding"] = "x" * missing
        execution.output = output
    return execution.output


def output_summary(job: JobRecord) -> str:
    """The `...OutputSummary` of a completed execution."""
    return f"score {output_of(job)['result']['score']}"


def delivered_via_s3(job: JobRecord) -> bool:
    """Whether `/output` answers with a presigned S3 URL rather than inline data."""
    spec: OutputSpec = job.data.output_spec
    if spec.delivery != "auto":
        return spec.delivery == "s3"
    return len(_encode(output_of(job))) > INLINE_MAX_BYTES


def s3_object(job: JobRecord, now: float) -> Blob:
    """The output as stored in S3: JSON, gzip-compressed unless the override said none."""
    execution: Execution = job.data
    if execution.s3_object is None:
        data = _encode(output_of(job))
        if execution.output_spec.compression == "gzip":
            data = gzip.compress(data, mtime=0)  # mtime=0: the same bytes on every request
            execution.s3_object = Blob.of(data, "application/gzip", now)
        else:
            execution.s3_object = Blob.of(data, "application/json", now)
    return execution.s3_object


def s3_uri(job: JobRecord) -> str:
    """`pipelineOutputFileUri`: where the real platform would keep the object."""
    suffix = ".json.gz" if job.data.output_spec.compression == "gzip" else ".json"
    return f"s3://moderately-emulator/pipeline-outputs/{job.remote_id}{suffix}"


def _encode(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
