"""OpenProtein.AI: ``msa`` (align) and ``embed`` (embeddings) jobs; no cancel, no uploads.

The HTTP calls are in :mod:`.provider`, the fleet-wide login in :mod:`.auth`, the params
and their read-back comparison in :mod:`.params`, the readers of answers in :mod:`.records`.
"""

from __future__ import annotations

from typing import Any

from worker.providers.base import Provider, url_setting
from worker.providers.openprotein.settings import OpenProteinSettings
from worker.providers.schema import Param, ParamsSchema
from worker.providers.spec import Capabilities, Endpoint, PlatformSpec

MSA = ParamsSchema(
    (
        Param("sequences", "strings", required=True,
              doc="one seed (the platform searches), or an alignment with is_seed false"),
        Param("is_seed", "boolean", doc="default: true"),
        Param("names", "strings", doc="one FASTA title per sequence"),
    ),
    doc="a multiple sequence alignment; the result is msa.fasta",
)
EMBED = ParamsSchema(
    (
        Param("model", "string", required=True, doc="a model id, e.g. prot-seq"),
        Param("sequences", "strings", required=True, doc="unique upper-case sequences"),
        Param("reduction", "string", nullable=True, choices=("MEAN", "SUM"),
              doc="default MEAN; null: one vector per residue"),
        Param("prompt_id", "string", nullable=True),
    ),
    doc="embeddings, one .npy per sequence",
)


def endpoint(settings: OpenProteinSettings) -> Endpoint:
    """``OPENPROTEIN_API_BACKEND``; the bearer token is the shared login's, added per call."""
    return Endpoint(url_setting(settings.api_backend, "OPENPROTEIN_API_BACKEND", SPEC.title))


def build(settings: OpenProteinSettings, http: Any, **resources: Any) -> Provider:
    from worker.providers.openprotein.provider import OpenProteinProvider

    return OpenProteinProvider(settings, http, **resources)


SPEC = PlatformSpec(
    name="openprotein",
    title="OpenProtein",
    kinds={"msa": MSA, "embed": EMBED},
    settings=OpenProteinSettings,
    endpoint=endpoint,
    build=build,
    capabilities=Capabilities(cancel=False, find=True, uploads=False, bulk_list=True),
    env_prefix="OPENPROTEIN_",
    doc="one login shared by the fleet through Redis; lost creates found again by payload",
)
