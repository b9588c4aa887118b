"""The result store on a local folder: files under their own (safe) names, data inline
when small, a batch removed whole, and a store URL that cannot work named as a setting."""

from __future__ import annotations

import json

import pytest

from worker.errors import ConfigError
from worker.results.store import INLINE_DATA_BYTES, ResultStore, plan_outputs, read_location


def test_outputs_are_stored_under_their_names_and_the_manifest_says_where(tmp_path):
    store = ResultStore(str(tmp_path / "results"))
    files = {"out/msa.fasta": b">s\nMK", "x.npy": b"\x93NUMPY"}
    manifest = json.loads(plan_outputs(store, "b1", "../k", "abcdef123456", {"n": 1},
                                       files).write())
    assert manifest["data"] == {"n": 1}
    where = {name: entry["location"] for name, entry in manifest["files"].items()}
    assert where == {"msa.fasta": str(tmp_path / "results/b1/_k-abcdef12/msa.fasta"),
                     "x.npy": str(tmp_path / "results/b1/_k-abcdef12/x.npy")}
    assert read_location(where["msa.fasta"]) == b">s\nMK"
    assert not list((tmp_path / "results").rglob("*.tmp-*"))


def test_big_data_goes_to_the_store_and_a_batch_is_removed_whole(tmp_path):
    store = ResultStore(str(tmp_path))
    big = {"rows": "x" * (INLINE_DATA_BYTES + 1)}
    manifest = json.loads(plan_outputs(store, "b2", "k", "0" * 24, big, {}).write())
    assert "data" not in manifest and json.loads(read_location(manifest["data_location"])) == big
    store.remove_batch("b2")
    assert not (tmp_path / "b2").exists()
    store.remove_batch("never-stored")  # nothing there: nothing to do


def test_a_store_url_that_cannot_work_is_a_setting_error():
    with pytest.raises(ConfigError, match="JOBFLEET_RESULTS_URL 'nosuch://x' cannot be used"):
        ResultStore("nosuch://x")
