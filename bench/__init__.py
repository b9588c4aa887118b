"""Benchmarks and the chaos harness; each runs a real local fleet (see bench/README.md)."""
