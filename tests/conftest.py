"""Test-suite settings shared by every folder."""

from hypothesis import settings

# Every run (local and CI) draws the same examples: a hypothesis failure is then
# reproducible from the commit alone, and CI cannot go red on a draw nobody has seen.
settings.register_profile("nntopo", derandomize=True, database=None)
settings.load_profile("nntopo")


import pytest  # noqa: E402

from nntopo.polyhedral import polyhedral_complex  # noqa: E402


@pytest.fixture(autouse=True)
def _network_checked_complexes(monkeypatch):
    """Every complex any test builds passes the network self-check.

    ``polyhedral_complex`` checks only the combinatorial invariants by default (the
    network self-check costs about a build); the issue asks for the full check in all
    tests, so the default is raised here for the duration of each test.
    """
    monkeypatch.setitem(polyhedral_complex.__kwdefaults__, "check", "network")
