"""Seeing the fleet: its pages, HTTP API and metrics inside Flower, and batch reports.

- ``server`` starts Flower with our handlers (listed in ``routes``) in its own Tornado app;
  ``access`` decides who may reach it (loopback by default, never public without a login).
- ``pages`` (templates in ``templates/``, loaded by ``templates``; the progress line drawn by
  ``charts``), ``api`` and ``metrics`` serve from ``batches`` and ``fleet``: O(page) reads of
  the small aggregates the job store keeps with every state change.
- ``report`` writes a batch's self-contained HTML report from ``batch_stats`` (one pass over
  its jobs) with ``plots`` (matplotlib, an optional extra); ``summary`` prints the same
  summary in the terminal for ``jobfleet wait``.

Worker-side counters and histograms are produced by :mod:`worker.telemetry`.
"""
