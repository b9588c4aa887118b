"""Spec files: the example loads, and each bad spec is refused with its exact one-line error.

Bad specs are the example file with one edit, so every row shows the one thing it breaks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.providers.declarative import load_specs
from worker.providers.declarative.loader import SpecError, load_spec
from worker.providers.types import RemoteState

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "providers" / "jobsapi.toml"
TEXT = EXAMPLE.read_text()


def edited(old: str, new: str) -> str:
    assert old in TEXT, f"the example no longer contains {old!r}"
    return TEXT.replace(old, new, 1)


def write(tmp_path: Path, text: str, name: str = "api.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_example_spec_loads_with_every_section():
    spec = load_spec(EXAMPLE)
    assert spec.name == "jobsapi"
    assert spec.create.at_most_once == "idempotency-key"
    assert spec.states["done"] is RemoteState.SUCCEEDED
    assert spec.listing is not None and spec.listing.ids_param == "token"
    assert spec.find is not None and spec.supports_find
    assert spec.kinds["task"]["template"].required


BAD = [
    ("name = \"jobsapi\"", "name = \"Jobs API\"",
     "name: must be lower case letters, digits and _ (at most 40), got 'Jobs API'"),
    ("name = \"jobsapi\"\n", "",
     "name: is required"),
    ("[connection]\n", "[connection]\nbase_url_typo = 1\n",
     "connection.base_url_typo: unknown field"),
    ('base_url = "http://127.0.0.1:8700/jobsapi"', 'base_url = "ftp://x"',
     "connection.base_url: must be an http(s) URL, got 'ftp://x'"),
    ('env = "JOBSAPI_API_KEY"', 'env = "jobsapi key"',
     "auth.env: must be an environment variable name like API_KEY, got 'jobsapi key'"),
    ('format = "{secret}"', 'format = "Bearer"',
     "auth.format: must contain {secret} exactly once"),
    ('header = "X-API-Key"', 'header = "X API Key"',
     "auth.header: must be an HTTP header name, got 'X API Key'"),
    ('template = { type = "string", required = true }',
     'template = { type = "text", required = true }',
     "kinds.task.params.template.type: must be one of string, integer, number, boolean, "
     "object, array, got 'text'"),
    ('template = { type = "string", required = true }',
     'template = { type = "string", required = "yes" }',
     "kinds.task.params.template.required: must be true or false, got a string ('yes')"),
    ('priority = "{params.priority?}"', 'priority = "{params.priority}"',
     "create.body: {params.priority} is not required in every kind: write {params.priority?}"),
    ('priority = "{params.priority?}"', 'priority = "{params.prio?}"',
     "create.body: {params.prio?} names no declared param"),
    ('path = "/v2/tasks"\nbody', 'path = "/v2/tasks/{remote_id}"\nbody',
     "create.path: unknown placeholder {remote_id}"),
    ('at_most_once = "idempotency-key"', 'at_most_once = "maybe"',
     "create.at_most_once: must be one of idempotency-key, tag, none, got 'maybe'"),
    ('at_most_once = "idempotency-key"', 'at_most_once = "none"',
     'create.idempotency_header: is only used with at_most_once = "idempotency-key"'),
    ('idempotency_header = "Idempotency-Key"\n', "",
     'create.idempotency_header: is required when at_most_once = "idempotency-key"'),
    ('at_most_once = "idempotency-key"\nidempotency_header = "Idempotency-Key"',
     'at_most_once = "tag"',
     'create.body: must carry "{job_id}" when at_most_once = "tag"'),
    ('method = "POST"\npath = "/v2/tasks"\n', 'method = "GET"\npath = "/v2/tasks"\n',
     "create.method: must be one of POST, PUT, got 'GET'"),
    ('id = "task.token"', 'id = 7',
     "create.id: must be a string, got an integer (7)"),
    ('path = "/v2/tasks/{remote_id}"\nstate', 'path = "/v2/tasks"\nstate',
     "status.path: must contain {remote_id}"),
    ('done = "succeeded"', 'done = "finished"',
     "states.done: must be one of pending, quoted, running, succeeded, failed, cancelled, "
     "got 'finished'"),
    ('done = "succeeded"', 'done = "running"',
     'states: no status value maps to "succeeded"'),
    ('cursor_param = "cursor"\n', "",
     "list.cursor_param: cursor_param and next_cursor go together"),
    ('poll_hint_unit = "ms"', 'poll_hint_unit = "minutes"',
     "status.poll_hint_unit: must be one of s, ms, got 'minutes'"),
    ("max_ids = 100", "max_ids = 0",
     "list.max_ids: must be at least 1, got 0"),
    ('query = { idempotency_key = "{job_id}" }', 'query = { idempotency_key = "{kind}" }',
     "find.query: must filter by {job_id}"),
    ("[result]\nmethod", "[result]\nshape = 1\nmethod",
     "result.shape: unknown field"),
    ("[states]", "[statuses]",
     "states: is required"),
    ("[kinds.task.params]", "[kinds.Task.params]",
     "kinds.Task: a kind is lower case letters, digits and _"),
    ('name = "jobsapi"', 'name = "jobsapi"\n[extra]',
     "extra: unknown field"),
]


@pytest.mark.parametrize(("old", "new", "error"), BAD, ids=[row[2][:50] for row in BAD])
def test_a_bad_spec_is_refused_with_the_file_the_field_and_the_reason(tmp_path, old, new, error):
    path = write(tmp_path, edited(old, new))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == f"{path}: {error}"
    assert "\n" not in str(caught.value)


def test_a_find_without_a_list_is_refused(tmp_path):
    start, end = TEXT.index("\n[list]\n"), TEXT.index("\n[find]\n")
    path = write(tmp_path, TEXT[:start] + TEXT[end:])
    with pytest.raises(SpecError, match=r"api\.toml: list: is required by \[find\]"):
        load_spec(path)


def test_tag_mode_needs_a_find_section(tmp_path):
    text = edited('at_most_once = "idempotency-key"\nidempotency_header = "Idempotency-Key"',
                  'at_most_once = "tag"')
    text = text.replace('labels = "{params.labels?}" }', 'labels = { ref = "{job_id}" } }')
    text = text[:text.index("\n[find]\n")]
    with pytest.raises(SpecError, match=r'find: is required when create.at_most_once = "tag"'):
        load_spec(write(tmp_path, text))


def test_broken_toml_names_the_file_and_the_place(tmp_path):
    path = write(tmp_path, TEXT + "\n[oops\n")
    with pytest.raises(SpecError, match=r"^.*api\.toml: not valid TOML: .*line \d+"):
        load_spec(path)


def test_two_files_may_not_declare_one_name_nor_a_built_in_one(tmp_path):
    write(tmp_path, TEXT, "a.toml")
    write(tmp_path, TEXT, "b.toml")
    with pytest.raises(SpecError, match=r"b\.toml: name: 'jobsapi' is already taken by a\.toml"):
        load_specs(tmp_path)
    (tmp_path / "b.toml").unlink()
    with pytest.raises(SpecError, match=r"a\.toml: name: 'jobsapi' is already taken by a built-in"):
        load_specs(tmp_path, reserved=("jobsapi",))


def test_a_missing_directory_is_a_one_line_error(tmp_path):
    with pytest.raises(SpecError, match="JOBFLEET_PROVIDERS_DIR is not a directory"):
        load_specs(tmp_path / "nowhere")


def test_the_readme_shows_the_example_spec_file_as_it_is():
    readme = (EXAMPLE.parents[2] / "README.md").read_text()
    start = readme.index("```toml\n", readme.index("### A spec file")) + len("```toml\n")
    assert readme[start:readme.index("```", start)] == TEXT


def test_a_spec_in_another_format_is_refused_rather_than_left_out(tmp_path):
    write(tmp_path, TEXT, "a.toml")
    (tmp_path / "b.yaml").write_text("name: other\n")
    with pytest.raises(SpecError, match=r"b\.yaml: spec files are TOML \(\*\.toml\)"):
        load_specs(tmp_path)
