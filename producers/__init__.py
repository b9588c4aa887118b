"""Producers: the Python API (:class:`Fleet`) and the ``jobfleet`` command line."""

from producers.api import Fleet, UnknownBatch
from producers.jobfile import InvalidJob

__all__ = ["Fleet", "InvalidJob", "UnknownBatch"]
