"""The one name check: plain names pass unchanged, everything path-like is refused."""

from __future__ import annotations

import pytest

from worker.results.names import UnsafeName, safe_file_name


@pytest.mark.parametrize("name", ["result.json", "msa.fasta", "embedding_00001.npy",
                                  "a b.txt", "..hidden", "x..y", "ünï.csv"])
def test_plain_names_pass_unchanged(name):
    assert safe_file_name(name) == name


@pytest.mark.parametrize(("name", "message"), [
    ("../../x", "unsafe file name '../../x': contains a path separator"),
    ("/etc/passwd", "unsafe file name '/etc/passwd': an absolute path"),
    ("\\\\host\\share", "unsafe file name '\\\\\\\\host\\\\share': an absolute path"),
    ("C:evil", "unsafe file name 'C:evil': an absolute path"),
    ("a/b.txt", "unsafe file name 'a/b.txt': contains a path separator"),
    ("a\\b.txt", "unsafe file name 'a\\\\b.txt': contains a path separator"),
    ("..", "unsafe file name '..': not a file name"),
    (".", "unsafe file name '.': not a file name"),
    ("", "unsafe file name '': not a file name"),
    ("a\x00b", "unsafe file name 'a\\x00b': contains a control character"),
    ("a\nb", "unsafe file name 'a\\nb': contains a control character"),
    ("x" * 256, f"unsafe file name '{'x' * 256}': longer than 255 bytes"),
])
def test_path_like_names_are_refused_with_the_reason(name, message):
    with pytest.raises(UnsafeName) as caught:
        safe_file_name(name)
    assert str(caught.value) == message


def test_the_message_names_what_was_checked():
    with pytest.raises(UnsafeName, match=r"^unsafe output file name '\.\./x': "):
        safe_file_name("../x", "output file name")
    with pytest.raises(UnsafeName, match=r"^job key 3 is not a string$"):
        safe_file_name(3, "job key")
