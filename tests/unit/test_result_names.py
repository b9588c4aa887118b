"""Names we do not control never become paths that leave their folder."""

from __future__ import annotations

import pytest

from worker.results.names import key_dir, safe_file_names, safe_segment


@pytest.mark.parametrize(("given", "made"), [
    ("msa.fasta", "msa.fasta"),
    ("..", "file"),
    ("../../etc/passwd", "_.._etc_passwd"),
    ("/abs/path.txt", "_abs_path.txt"),
    ("a\\b", "a_b"),
    (".hidden", "hidden"),
    ("", "file"),
    ("séquence 1.npy", "séquence 1.npy"),
    ("nul\x00byte", "nul_byte"),
])
def test_a_segment_has_no_separator_no_dots_to_climb_and_no_hidden_name(given, made):
    assert safe_segment(given) == made
    assert "/" not in made and "\\" not in made and made not in ("", ".", "..")


def test_a_safe_key_is_its_own_folder_and_a_cleaned_one_carries_the_job_id():
    assert key_dir("dock-42", "abcdef0123456789") == "dock-42"
    assert key_dir("a/b", "abcdef0123456789") == "a_b-abcdef01"
    assert key_dir("a_b", "0123456789abcdef") == "a_b"


def test_output_names_keep_their_last_component_and_stay_unique():
    assert safe_file_names(["out/msa.fasta", "x.npy"]) == {"out/msa.fasta": "msa.fasta",
                                                          "x.npy": "x.npy"}
    assert safe_file_names(["a/r.json", "b/r.json"]) == {"a/r.json": "a_r.json",
                                                        "b/r.json": "b_r.json"}
    assert set(safe_file_names(["a/b", "a_b", "a\\b"]).values()) == {"a_b", "2-a_b", "3-a_b"}
