"""The platforms as people read them: the CLI's help and the README's table, from the specs.

Both are made from :func:`worker.providers.specs`, so what the docs say a job line may carry
is what ``jobfleet submit`` checks (a test holds the README to :func:`markdown_table`).
"""

from __future__ import annotations

import textwrap

from worker.providers import specs
from worker.providers.schema import Param, ParamsSchema
from worker.providers.spec import PlatformSpec

HELP_WIDTH = 96  # columns of the help text, as argparse's own at a usual terminal
_CAPABILITIES = (("cancel", "cancel"), ("find", "find a lost create"),
                 ("uploads", "take uploads"), ("bulk_list", "list many at once"))


def param_text(param: Param) -> str:
    """``name*`` (required) with its official-client spellings in brackets."""
    text = f"{param.name}{'*' if param.required else ''}"
    return f"{text} [{', '.join(param.aliases)}]" if param.aliases else text


def params_text(schema: ParamsSchema) -> str:
    return ", ".join(param_text(p) for p in schema.params)


def capabilities_text(spec: PlatformSpec) -> str:
    """What the platform can do beyond create, status and outputs; "—" when nothing."""
    can = [label for field, label in _CAPABILITIES if getattr(spec.capabilities, field)]
    return ", ".join(can) or "—"


def help_text() -> str:
    """The platforms block of ``jobfleet submit --help``."""
    lines = ["platforms (provider/kind: params; * required, [official-client spellings]):"]
    for spec in specs().values():
        for kind, schema in spec.kinds.items():
            lines.extend(textwrap.wrap(f"{spec.name}/{kind}: {params_text(schema)}",
                                       HELP_WIDTH, initial_indent="  ",
                                       subsequent_indent="      "))
        settings = f"{spec.env_prefix}*" if spec.env_prefix else "its spec file"
        lines.append(f"    {spec.title}: {capabilities_text(spec)}; settings {settings}")
    return "\n".join(lines)


def markdown_table(names: tuple[str, ...] | None = None) -> str:
    """One row per platform and kind: params, capabilities, settings (the README's table)."""
    rows = ["| provider | kind | params (`*` required, [official-client spellings]) "
            "| can | settings |", "|---|---|---|---|---|"]
    for spec in specs().values():
        if names is not None and spec.name not in names:
            continue
        for kind, schema in spec.kinds.items():
            params = ", ".join(f"`{param_text(p)}`" for p in schema.params)
            settings = f"`{spec.env_prefix}*`" if spec.env_prefix else "spec file"
            rows.append(f"| {spec.name} | {kind} | {params} | {capabilities_text(spec)} "
                        f"| {settings} |")
    return "\n".join(rows)
