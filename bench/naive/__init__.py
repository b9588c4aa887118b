"""The usual Celery pattern, written as a user of a platform would: the baseline of
``python -m bench.compare``. Not part of the fleet; nothing in ``worker/`` imports it."""
