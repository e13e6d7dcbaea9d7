"""The papers' studies as analyses of the sweep engine (``nntopo run``).

Each module here defines its analyses (:class:`nntopo.sweep.analyses.Analysis`), registers
them with :func:`nntopo.sweep.analyses.register_analysis` when imported, and provides the
study's statistics and figures as functions that read a run's store. The engine imports
every module of this package on the first registry lookup (in every process, Dask
workers included), so adding a study is adding a module: the engine is not touched.
"""
