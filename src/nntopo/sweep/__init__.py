"""Sweeps: one TOML config, many networks, one resumable Zarr store.

``run_sweep(config, out)`` trains every network of ``[training]`` and runs every
``[analysis.NAME]`` on each reached snapshot, each piece writing its own region of
``OUT/results.zarr`` and then a mark, so a rerun resumes where a killed run stopped.
Jobs run in this process, on joblib worker processes, or on a Dask cluster.
``open_results(out)`` reads the results as an ``xarray.Dataset``. New analyses are added
with ``register_analysis`` (see :mod:`nntopo.sweep.analyses`).
"""

from .analyses import Analysis, Layout, Variable, available_analyses, get_analysis, register_analysis
from .config import ConfigError, SweepConfig, load_config, network_summary, packaged_config, parse_config
from .run import SweepPlan, SweepSummary, check_sweep, plan_sweep, run_sweep
from .store import open_results

__all__ = [
    "Analysis",
    "ConfigError",
    "Layout",
    "SweepConfig",
    "SweepPlan",
    "SweepSummary",
    "Variable",
    "available_analyses",
    "check_sweep",
    "get_analysis",
    "load_config",
    "network_summary",
    "open_results",
    "packaged_config",
    "parse_config",
    "plan_sweep",
    "register_analysis",
    "run_sweep",
]
