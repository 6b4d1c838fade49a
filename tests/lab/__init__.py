"""The lab: a simulated oVirt cluster (engine API, BMCs, hosted-engine agents) for tests.

Run ``python -m tests.lab up|status|fault|step|down`` from the repository root; see docs/lab.md.
"""
