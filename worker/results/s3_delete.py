"""Removing many stored files from an S3-compatible store in few requests.

The retention janitor removes a page of jobs' files at once. On S3 one ``DeleteObjects``
request takes up to :data:`MAX_KEYS` keys, where ``DeleteObject`` takes one. The answer lists
the keys it could not delete, each with its own code (e.g. ``AccessDenied``): those are handed
back, so the janitor keeps them held and asks again next round. A key already gone is not an
error (S3 answers as if it were deleted).
"""

from __future__ import annotations

from collections.abc import Mapping

MAX_KEYS = 1000  # S3's most keys per DeleteObjects request


def delete_objects(fs, paths: Mapping[str, str]) -> dict[str, str]:
    """Deletes the objects at ``paths`` (location → the store's ``bucket/key`` path) with as few
    requests as S3 allows; returns location → why, for each one not deleted."""
    by_bucket: dict[str, dict[str, str]] = {}
    for location, path in paths.items():
        bucket, key, _ = fs.split_path(path)
        by_bucket.setdefault(bucket, {})[key] = location
    failed: dict[str, str] = {}
    for bucket, located in by_bucket.items():
        names = list(located)
        for start in range(0, len(names), MAX_KEYS):
            chunk = {name: located[name] for name in names[start:start + MAX_KEYS]}
            failed.update(_delete_chunk(fs, bucket, chunk))
    for path in paths.values():
        fs.invalidate_cache(path)
    return failed


def _delete_chunk(fs, bucket: str, chunk: Mapping[str, str]) -> dict[str, str]:
    """One DeleteObjects request for ``chunk`` (key → location); the locations not deleted."""
    request = {"Objects": [{"Key": name} for name in chunk], "Quiet": True}
    try:
        answer = fs.call_s3("delete_objects", Bucket=bucket, Delete=request)
    except Exception as exc:  # noqa: BLE001 - s3fs raises several kinds; all keys kept, asked again
        return dict.fromkeys(chunk.values(), _one_line(f"{type(exc).__name__}: {exc}"))
    failed: dict[str, str] = {}
    for error in answer.get("Errors") or ():
        location = chunk.get(error.get("Key", ""))
        if location is not None and error.get("Code") != "NoSuchKey":
            failed[location] = _one_line(f"{error.get('Code')}: {error.get('Message')}")
    return failed


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]
