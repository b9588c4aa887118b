"""Seeing the fleet: jobfleet's pages, API and metrics inside Flower, and batch reports.

``server`` starts Flower with our handlers (``routes``); ``pages``, ``api`` and ``metrics``
serve them from ``batches`` and ``fleet`` (O(page) reads of the store's aggregates);
``access`` decides who may reach it; ``report`` writes a batch's self-contained HTML report.
"""
