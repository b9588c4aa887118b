"""Where finished jobs' results go: a store addressed by URL, shared by the whole fleet.

``JOBFLEET_RESULTS_URL`` is a local directory (the default, ``jobfleet-results``) or any URL
fsspec understands, e.g. ``s3://bucket/prefix`` for workers on several machines (s3fs reads
the usual ``AWS_*`` variables, ``AWS_ENDPOINT_URL`` included). Any worker writes, any
producer reads.

Layout, every name made safe by :mod:`worker.results.names`::

    <root>/<batch>/<key>/<file name>      each output file, under its own name
    <root>/<batch>/<key>/_data.json       the result data, only when too big to keep inline

The job record keeps the manifest: ``{"data": ...}`` (or ``{"data_location": ...}``) and
``{"files": {name: {"location", "sha256", "size"}}}``, so ``results`` answers from Redis alone.
Retention removes exactly the files a manifest names (:meth:`ResultStore.remove_files`), and
never a location outside the store's root.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import posixpath
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import fsspec

from worker.errors import ConfigError, TransientError
from worker.results.names import key_dir, safe_file_names, safe_segment
from worker.results.s3_delete import delete_objects

INLINE_DATA_BYTES = 16 * 1024  # result data up to this size stays on the job record
DATA_FILE = "_data.json"  # leading underscore: no output file name cleans to it


class RefusedLocation(ValueError):
    """A location that is not a file under the result store's root: never removed."""


@dataclass(frozen=True)
class Removal:
    """What :meth:`ResultStore.remove_files` did with each location."""

    removed: list[str]
    refused: dict[str, str]  # location → why it is never removed (not a file of the store)
    failed: dict[str, str]  # location → why it was not removed this time


class ResultStore:
    """Bytes in and out of the store at ``url``; locations are URLs (plain paths when local)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.fs, self.root = _filesystem(url, **_options(url))
        self.local = "file" in _protocols(self.fs)
        if self.local:
            self.root = self.fs._strip_protocol(self.root)

    def put(self, parts: tuple[str, ...], data: bytes) -> str:
        """Writes ``data`` at ``root/parts...`` (whole or not at all); returns its location."""
        path = self._path(parts)
        try:
            if self.local:  # a rename makes the write atomic; S3 puts are already
                os.makedirs(os.path.dirname(path), exist_ok=True)
                tmp = f"{path}.tmp-{secrets.token_hex(4)}"
                with open(tmp, "wb") as file:
                    file.write(data)
                os.replace(tmp, path)
            else:
                self.fs.pipe_file(path, data)
        except OSError as exc:
            raise TransientError(f"cannot write {self.location(path)}: {exc}",
                                 provider="results") from exc
        return self.location(path)

    def location_of(self, parts: tuple[str, ...]) -> str:
        """The location :meth:`put` returns for ``parts``, known before anything is written."""
        return self.location(self._path(parts))

    def _path(self, parts: tuple[str, ...]) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def remove_batch(self, batch: str) -> None:
        """Deletes every file stored for ``batch`` (``jobfleet forget``)."""
        folder = "/".join([self.root.rstrip("/"), safe_segment(batch, "batch")])
        try:
            if self.fs.exists(folder):
                self.fs.rm(folder, recursive=True)
        except OSError as exc:
            raise TransientError(f"cannot remove {self.location(folder)}: {exc}",
                                 provider="results") from exc

    def remove_files(self, locations: Iterable[str]) -> Removal:
        """Deletes files :meth:`put` wrote, given their locations (a file already gone is
        fine); on S3 up to 1,000 in one request (:mod:`worker.results.s3_delete`). A local
        store also drops the folders it leaves empty, up to the root. A location not under
        the root, whatever it points at, or a folder, is refused; one that could not be
        deleted this time is failed, with why."""
        paths: dict[str, str] = {}
        refused: dict[str, str] = {}
        for location in dict.fromkeys(locations):
            try:
                paths[location] = self._stored_file(location)
            except RefusedLocation as exc:
                refused[location] = str(exc)
        if "s3" in _protocols(self.fs):
            failed = delete_objects(self.fs, paths)
        else:
            failed = {}
            for location, path in paths.items():
                try:
                    self._remove_one(path)
                except OSError as exc:
                    failed[location] = f"{type(exc).__name__}: {exc}"
        return Removal([at for at in paths if at not in failed], refused, failed)

    def _stored_file(self, location: str) -> str:
        path = self._inside(location)
        if self.local and os.path.isdir(path):
            raise RefusedLocation(f"{location} is a folder, not a stored file")
        return path

    def _remove_one(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(path)
        folder = os.path.dirname(path)
        while self.local and folder.startswith(self.root.rstrip("/") + "/"):
            try:
                os.rmdir(folder)  # only when empty: anything else in it stays
            except OSError:
                break
            folder = os.path.dirname(folder)

    def _inside(self, location: str) -> str:
        """The store's path for ``location`` when it lies under the root, else RefusedLocation."""
        scheme = location.split("://", 1)[0] if "://" in location else ""
        if scheme in (("", "file") if self.local else _protocols(self.fs)):
            root = self.root.rstrip("/")
            if self.local:
                path = os.path.normpath(os.path.abspath(self.fs._strip_protocol(location)))
                real = os.path.realpath(os.path.dirname(path)) + "/"
                inside = real.startswith(os.path.realpath(root) + "/")
            else:
                path = posixpath.normpath(self.fs._strip_protocol(location))
                inside = True
            if inside and path.startswith(root + "/"):
                return path
        raise RefusedLocation(f"{location} is outside the result store {self.location(self.root)}")

    def location(self, path: str) -> str:
        return path if self.local else self.fs.unstrip_protocol(path)


def read_location(location: str) -> bytes:
    """The bytes at a location :meth:`ResultStore.put` returned, from any machine."""
    fs, path = _filesystem(location)
    return fs.cat_file(path)


def copy_location(location: str, target: str) -> int:
    """Copies the file at ``location`` to the local path ``target`` without holding it in
    memory (it may be large); returns its size."""
    fs, path = _filesystem(location)
    fs.get_file(path, target)
    return os.path.getsize(target)


@dataclass(frozen=True)
class PlannedOutputs:
    """A job's outputs laid out in the store, each part's location known before it is
    written, so retention can hold them first (:func:`worker.retention.hold_planned`)."""

    store: ResultStore
    files: Mapping[str, tuple[tuple[str, ...], bytes]]  # manifest name → (parts, bytes)
    data: Any
    data_file: tuple[tuple[str, ...], bytes] | None  # the data, when too big to keep inline

    @property
    def locations(self) -> list[str]:
        parts = [where for where, _ in self.files.values()]
        if self.data_file is not None:
            parts.append(self.data_file[0])
        return [self.store.location_of(where) for where in parts]

    def write(self) -> str:
        """Writes every part; returns the manifest as JSON."""
        listed = {
            name: {"location": self.store.put(where, blob),
                   "sha256": hashlib.sha256(blob).hexdigest(), "size": len(blob)}
            for name, (where, blob) in self.files.items()
        }
        manifest: dict[str, Any] = {"files": listed}
        if self.data_file is None:
            manifest["data"] = self.data
        else:
            manifest["data_location"] = self.store.put(*self.data_file)
        return json.dumps(manifest, sort_keys=True, separators=(",", ":"))


def plan_outputs(store: ResultStore, batch: str, key: str, job_id: str,
                 data: Any, files: Mapping[str, bytes]) -> PlannedOutputs:
    """Where a job's output files (under their own names) and its data go; nothing written."""
    folder = (safe_segment(batch, "batch"), key_dir(key, job_id))
    names = safe_file_names(files)
    placed = {names[name]: ((*folder, names[name]), blob) for name, blob in files.items()}
    document = json.dumps(data, sort_keys=True, separators=(",", ":"))
    big = len(document) > INLINE_DATA_BYTES
    return PlannedOutputs(store, placed, data,
                          ((*folder, DATA_FILE), document.encode()) if big else None)


def _filesystem(url: str, **options: Any):
    """fsspec's filesystem for ``url``; a missing backend is a setting to fix, named."""
    try:
        return fsspec.core.url_to_fs(url, **options)
    except ImportError as exc:
        scheme = url.split("://", 1)[0]
        hint = " (pip install 'jobfleet[s3]')" if scheme == "s3" else ""
        raise ConfigError(f"the result store {scheme}:// needs a package not installed"
                          f"{hint}: {exc}") from None
    except ValueError as exc:  # fsspec: "Protocol not known"
        raise ConfigError(f"JOBFLEET_RESULTS_URL {url!r} cannot be used: {exc}") from None


def _protocols(fs) -> tuple[str, ...]:
    return (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)


def _options(url: str) -> dict[str, Any]:
    """A local store makes its folders as it writes."""
    return {"auto_mkdir": True} if "://" not in url or url.startswith("file://") else {}
