"""Templates for the fleet's pages inside Flower, and Flower's navigation bar with their links.

Our pages extend Flower's own ``base.html``, so they look like the rest of Flower and share
its navigation. The navigation bar is Flower's ``navbar.html`` with our links added to its
main list when it is loaded: nothing of Flower's is copied or edited on disk.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from tornado import template

log = logging.getLogger("jobfleet.monitor")

OURS = "jobfleet_"  # our templates' names start with this; the rest are Flower's
NAV_LIST = 'class="app-nav navbar-nav"'  # Flower's main navigation list
NAV_ITEMS = """
        <li class="nav-item">
          <a class="nav-link{% if active_tab == 'jobfleet-batches' %} active{% end %}"
            href="{{ reverse_url('jobfleet-batches') }}">Batches</a>
        </li>
        <li class="nav-item">
          <a class="nav-link{% if active_tab == 'jobfleet-fleet' %} active{% end %}"
            href="{{ reverse_url('jobfleet-fleet') }}">Fleet</a>
        </li>
"""


def with_our_links(navbar: str) -> str:
    """Flower's navbar source with our links appended to its main list (unchanged, with a
    warning, if a Flower version lays it out differently)."""
    start = navbar.find(NAV_LIST)
    end = navbar.find("</ul>", start)
    if start < 0 or end < 0:
        log.warning("Flower's navigation bar has an unexpected layout; jobfleet links not added")
        return navbar
    return navbar[:end] + NAV_ITEMS + navbar[end:]


class FlowerTemplates(template.Loader):
    """Loads Flower's templates from ``flower_root`` and ours from this package."""

    def __init__(self, flower_root: str, **kwargs) -> None:
        super().__init__(flower_root, **kwargs)
        self._ours = resources.files("monitor").joinpath("templates")

    def _create_template(self, name: str) -> template.Template:
        if name.startswith(OURS):
            source = self._ours.joinpath(name).read_text("utf-8")
        else:
            source = (Path(self.root) / name).read_text("utf-8")
            if name == "navbar.html":
                source = with_our_links(source)
        return template.Template(source, name=name, loader=self)
