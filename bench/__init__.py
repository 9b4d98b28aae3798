"""On-demand benchmarks of evi-toolhost, each against a baseline measured in the same run.

Run them all with `.venv/bin/python -m bench` (see bench/README.md); never collected by pytest.
"""
