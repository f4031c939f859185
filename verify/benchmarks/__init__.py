"""Benchmark cases of the engine and the runner (discovered by ``verify bench``)."""
