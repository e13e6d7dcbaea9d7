"""The hostile-user probe (benchmarks/probe_bad_inputs.py) in the default suite: every
probe must end in a clear error naming the argument or in a result its check accepts."""

import importlib.util
import sys
from pathlib import Path


def _load_probe_module():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "probe_bad_inputs.py"
    spec = importlib.util.spec_from_file_location("probe_bad_inputs", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_probe_is_a_clear_error_or_a_correct_result():
    probe = _load_probe_module()
    outcomes = probe.run_probes()
    assert len(outcomes) >= 60
    bad = [f"{o.probe.area}: {o.probe.what}: {o.verdict}: {o.detail}" for o in outcomes if not o.good]
    assert not bad, "\n".join(bad)


def test_the_probe_classifier_can_fail():
    probe = _load_probe_module()
    silent = probe.run_probe(probe.err("x", "returns instead of raising", lambda: 1, "arg"))
    obscure = probe.run_probe(probe.err("x", "names nothing", lambda: (_ for _ in ()).throw(ValueError("no")), "arg"))
    wrong = probe.run_probe(probe.ok("x", "wrong value", lambda: 2, lambda v: v == 1))
    assert [silent.verdict, obscure.verdict, wrong.verdict] == ["SILENT WRONG", "OBSCURE ERROR", "SILENT WRONG"]
    assert not (silent.good or obscure.good or wrong.good)
