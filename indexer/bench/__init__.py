"""Benchmarks and evaluations: `kb bench`, `kb eval`, the baselines they compare with."""
