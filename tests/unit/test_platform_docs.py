"""The README's platform table and the CLI's help are made from the specs, and stay so."""

import re
from pathlib import Path

from producers.cli import main
from worker.providers.catalog import markdown_table

README = Path(__file__).resolve().parents[2] / "README.md"
BUILT_IN = ("deeporigin", "moderately", "openprotein")


def test_the_readme_platform_table_is_the_one_the_specs_make():
    text = README.read_text()
    found = re.search(r"<!-- platforms table: [^\n]*-->\n(.*?)\n<!-- end of platforms table -->",
                      text, re.S)
    assert found, "README lost its platforms table markers"
    assert found.group(1) == markdown_table(BUILT_IN), (
        "a spec changed: paste the output of `python -c 'from worker.providers.catalog import "
        "markdown_table; print(markdown_table((\"deeporigin\", \"moderately\", "
        "\"openprotein\")))'` between the README's markers")


def test_submit_help_lists_every_kind_with_its_params_and_official_spellings(capsys):
    try:
        main(["submit", "--help"])
    except SystemExit as exit_:
        assert exit_.code == 0
    out = capsys.readouterr().out
    assert "deeporigin/tool: tool* [tool_key]" in out
    assert "openprotein/embed: model*, sequences*, reduction, prompt_id" in out
    assert ("Moderately AI: cancel, find a lost create, take uploads, list many at once; "
            "settings MODERATELY_*") in out


def test_the_readme_names_every_platform_setting_with_the_official_variable_name():
    from worker.providers import get_spec

    text = README.read_text()
    for name in BUILT_IN:
        spec = get_spec(name)
        for field in spec.settings.model_fields:
            assert f"{spec.env_prefix}{field.upper()}" in text, (name, field)
