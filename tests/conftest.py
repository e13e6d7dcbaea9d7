"""Test-suite settings shared by every folder."""

from hypothesis import settings

# Every run (local and CI) draws the same examples: a hypothesis failure is then
# reproducible from the commit alone, and CI cannot go red on a draw nobody has seen.
settings.register_profile("nntopo", derandomize=True, database=None)
settings.load_profile("nntopo")
