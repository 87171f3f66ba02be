"""The benchmark harness (`losskit bench`): it runs every workload, its correctness gate holds
back wrong contenders, its outputs are complete. Nothing here asserts a timing."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import losskit
from losskit.bench import catalog, report, run, targets, worker
from losskit.bench.impls import Impl
from losskit.bench.workload import Contender, Reference, Workload, alloc

# `python -m losskit` from the repository root would import the uncompiled source package.
NEUTRAL_CWD = tempfile.gettempdir()
TINY = ["--quick", "--repeats", "1", "--budget", "0"]


def bench(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "losskit", "bench", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=NEUTRAL_CWD)


@pytest.fixture(scope="module")
def every_workload(tmp_path_factory):
    """One tiny run of every workload and contender, both dtypes, two sizes, with all outputs."""
    out = tmp_path_factory.mktemp("bench")
    paths = {ext: out / f"run.{ext}" for ext in ("json", "md", "png")}
    proc = bench(*TINY, "--tables", "sizes", "--sizes", "100,1000", "--shapes", "8x5,16x3",
                 "--json", str(paths["json"]), "--markdown", str(paths["md"]), "--plot", str(paths["png"]))
    assert proc.returncode == 0, proc.stderr
    return proc, json.loads(paths["json"].read_text()), paths


def test_every_contender_of_every_workload_passes_the_gate(every_workload):
    _, results, _ = every_workload
    installed = {h["family"] for h in results["libraries"] if h["available"]}
    assert {"losskit", "numpy", "stream"} <= installed
    assert {c["workload"] for c in results["cases"]} == set(catalog.WORKLOADS)
    for case in results["cases"]:
        w = catalog.WORKLOADS[case["workload"]]
        expected = [n for n in w.contenders if n not in run.QUICK_SKIPS] + (["stream"] if w.stream_shape else [])
        assert list(case["impls"]) == expected
        for name, rec in case["impls"].items():
            where = f"{case['workload']} {case['dtype']} {case['label']} {name}: {rec['message']}"
            if rec["family"] in installed:
                assert rec["status"] == "ok", where
                assert rec["median_s"] > 0 and len(rec["samples_s"]) >= 1, where
            else:
                assert rec["status"] == "unavailable" and rec["family"] in rec["message"], where


def test_json_holds_every_case_with_its_measurements(every_workload):
    _, results, _ = every_workload
    assert results["schema"] == "losskit-bench/2"
    assert set(results["workloads"]) == set(catalog.WORKLOADS)
    assert {"machine", "environment", "config", "libraries", "targets", "elapsed_s"} <= set(results)
    assert {c["dtype"] for c in results["cases"] if c["workload"] == "mse"} == {"float32", "float64"}
    for case in results["cases"]:
        assert case["table"] == "sizes" and case["threads"] == results["config"]["threads"]
        if case["bytes"]:
            stream = case["stream"]
            assert stream["gbps"] > 0 and stream["gbps_before"] > 0 and stream["gbps_after"] > 0
            lk = case["impls"].get("losskit[out]") or case["impls"]["losskit"]
            assert lk["gbps"] == pytest.approx(case["bytes"] / lk["median_s"] / 1e9)
            assert lk["pct_bw"] == pytest.approx(100 * stream["median_s"] / lk["median_s"])
        best = case["best_peer"]
        # a booster's built-in objective (family xgboost) is the floor of the gbdt workloads,
        # not a peer: it runs no Python callback
        not_peers = ("losskit", "stream", "xgboost")
        if best is None:  # a default workload: losskit only
            assert {r["family"] for r in case["impls"].values()} <= set(not_peers)
            continue
        assert case["impls"][best]["family"] not in not_peers
        peers = [r["median_s"] for r in case["impls"].values() if r["family"] not in not_peers
                 and r["status"] == "ok"]
        assert case["impls"][best]["median_s"] == min(peers)
    verdicts = results["targets"]["targets"]
    assert [t["id"] for t in verdicts] == ["bandwidth", "peers", "overhead", "optimizer", "ce-large", "ce-small",
                                           "bce", "barron"]
    assert verdicts[0]["status"] == "not measured"  # no N = 1e7 in a tiny run
    assert verdicts[1]["status"] in ("met", "missed") and verdicts[1]["checks"] > 0


def test_markdown_and_plot_are_written(every_workload):
    proc, _, paths = every_workload
    md = paths["md"].read_text()
    assert md.startswith("# losskit benchmark")
    for section in ("## Time per call (median) by size", "## losskit against the bandwidth kernel",
                    "## Targets"):
        assert section in md
    assert "| mse | float32 | 1e2 |" in md
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plot written to {paths['png']}" in proc.stdout
    assert "Targets" in proc.stdout and "Time per call" in proc.stdout


def test_overhead_scaling_and_isa_tables(tmp_path):
    path = tmp_path / "run.json"
    proc = bench(*TINY, "--workloads", "mse,adam", "--dtypes", "float32", "--sizes", "1000", "--threads", "2",
                 "--scaling", "1", "--impls", "losskit[out],losskit,numpy[out],torch-fused", "--json", str(path))
    assert proc.returncode == 0, proc.stderr
    results = json.loads(path.read_text())
    tables = [(c["table"], c["workload"], c["threads"]) for c in results["cases"]]
    assert tables[:4] == [("overhead", "mse", 2), ("sizes", "mse", 2), ("overhead", "adam", 2), ("sizes", "adam", 2)]
    assert ("threads", "mse", 1) in tables and ("threads", "adam", 1) in tables
    for scaled in (c for c in results["cases"] if c["table"] == "threads"):
        main = next(c for c in results["cases"] if c["table"] == "sizes" and c["workload"] == scaled["workload"])
        shown = {report.best_losskit(main), main["best_peer"], "stream"}
        assert set(scaled["impls"]) == shown  # what the scaling table shows, nothing else
    isas = results["config"]["isas"]
    assert isas and isas[0] == "sse2"
    isa_cases = [c for c in results["cases"] if c["table"] == "isa"]
    assert [c["workload"] for c in isa_cases] == ["mse", "adam"]
    assert list(isa_cases[0]["impls"]) == [f"losskit[out]@{isa}" for isa in isas]
    assert all(r["status"] == "ok" and r["isa"] in isas for c in isa_cases for r in c["impls"].values())
    by_id = {t["id"]: t for t in results["targets"]["targets"]}
    assert by_id["overhead"]["checks"] == 2
    for text in ("Per-call overhead", "Thread scaling", "losskit per instruction set"):
        assert text in proc.stdout


# ------------------------------------------------------------------- correctness gate

class _Residuals(Workload):
    """r = x - y, as a "loss" whose value is mean(r^2) and whose array is r: with one right
    contender and one for every kind of mistake the gate must catch."""

    name = suite = "test-residuals"
    description = "the gate's test workload"
    contenders = {name: Contender("numpy", True, name)
                  for name in ("right", "wrong-array", "wrong-value", "ignores-out", "modifies-input", "raises")}

    def make_inputs(self, shape, dtype, seed):
        rng = np.random.default_rng(seed)
        return {"x": rng.standard_normal(shape).astype(dtype), "y": rng.standard_normal(shape).astype(dtype)}

    def reference(self, inputs):
        r = inputs["x"].astype(np.float64) - inputs["y"]
        return Reference(float(np.mean(r * r)), r)

    def build(self, name, inputs, threads):
        x, y = inputs["x"], inputs["y"]
        out = alloc(x.shape, x.dtype)

        def right():
            np.subtract(x, y, out=out)
            return float(np.mean(out * out)), out

        def wrong_array():
            value, r = right()
            r[3] += 0.5
            return value, r

        def modifies_input():
            x[0] = 7.0
            return right()

        def raises():
            raise FloatingPointError("deliberately")

        calls = {"right": right, "wrong-array": wrong_array, "wrong-value": lambda: (right()[0] * 1.01, out),
                 "ignores-out": lambda: (right()[0], out.copy()), "modifies-input": modifies_input,
                 "raises": raises}
        return Impl(calls[name], validate=lambda result: "" if result[1] is out else "out= was not used")


def test_gate_times_only_the_right_contender(monkeypatch):
    w = _Residuals()
    monkeypatch.setitem(worker.WORKLOADS, w.name, w)
    inputs = w.make_inputs((1000,), "float32", 0)
    ref = w.reference(inputs)
    shared = {f"in.{k}": v for k, v in inputs.items()}
    shared["ref.array"] = ref.array
    server = worker._Server("numpy", 1, None)
    with run.shared_arrays(shared) as (shm_name, layout):
        records = server.setup(w.name, "float32", list(w.contenders), shm_name, layout,
                               {"value": ref.value, "rounding": 0.0})
    try:
        assert records["right"]["status"] == "ok" and records["right"]["array_err"] < 1e-6
        assert records["wrong-array"]["status"] == "wrong"
        assert "differs at 1 of 1000 elements" in records["wrong-array"]["message"]
        assert records["wrong-value"]["status"] == "wrong" and "rel err 1.00e-02" in records["wrong-value"]["message"]
        assert records["ignores-out"]["status"] == "wrong"
        assert records["ignores-out"]["message"] == "out= was not used"
        assert records["modifies-input"]["status"] == "wrong"
        assert "modified its input 'x'" in records["modifies-input"]["message"]
        assert records["raises"]["status"] == "error" and "FloatingPointError" in records["raises"]["message"]
        assert list(server.live) == ["right"]  # only it is timed
        np.testing.assert_array_equal(server.inputs["x"], inputs["x"])  # the modified input was restored
        status, seconds = server.sample("right", 3, True)
        assert status == "ok" and seconds > 0
    finally:
        server.teardown()
    assert server.live == {}


def test_optimizer_reference_tolerates_rounding_but_not_a_wrong_step():
    adam = catalog.WORKLOADS["adam"]
    inputs = adam.make_inputs((1000,), "float32", 0)
    ref = adam.reference(inputs)
    right = adam.build("numpy[out]", inputs, 1)
    for _ in range(adam.check_calls):
        right.call()
    assert adam.check(right.result(), ref, "float32").ok
    too_short_steps = inputs["p0"] - np.float32(1e-4) * np.sign(inputs["g"]) * adam.check_calls
    chk = adam.check((None, too_short_steps.astype(np.float32)), ref, "float32")
    assert not chk.ok and "differs" in chk.message


# ------------------------------------------------------------------------- targets

def _case(workload, label, elements, impls, table="sizes", stream_s=None, suite="regression", shape=None):
    recs = {name: {"family": family, "status": "ok", "median_s": t} for name, (family, t) in impls.items()}
    peers = {n: r for n, r in recs.items() if r["family"] != "losskit"}
    return {"table": table, "workload": workload, "suite": suite, "dtype": "float32", "label": label,
            "shape": shape or [elements],
            "elements": elements, "threads": 2, "impls": recs, "best_peer": min(peers, key=lambda n: peers[n]["median_s"]),
            "stream": None if stream_s is None else {"median_s": stream_s, "gbps": 1.0}}


def test_targets_say_what_was_missed_and_by_how_much():
    results = {
        "config": {"threads": 2},
        "workloads": {"mse": {"elementwise": True, "dtypes": ["float32"]},
                      "adam": {"elementwise": False, "dtypes": ["float32"]}},
        "cases": [
            _case("mse", "1e7", 10**7, {"losskit[out]": ("losskit", 3e-3), "numpy[out]": ("numpy", 9e-3)},
                  stream_s=2e-3),
            _case("mse", "1e2", 100, {"losskit[out]": ("losskit", 2e-6), "numpy[out]": ("numpy", 1e-6)}),
            _case("mse", "16", 16, {"losskit[out]": ("losskit", 4e-7), "numpy[out]": ("numpy", 1e-6)},
                  table="overhead"),
            _case("adam", "1e6", 10**6, {"losskit": ("losskit", 1e-3), "torch-fused": ("torch", 1.1e-3)},
                  suite="optim"),
        ],
    }
    verdicts = {t["id"]: t for t in targets.evaluate(results)["targets"]}
    assert verdicts["bandwidth"]["status"] == "missed"
    assert verdicts["bandwidth"]["misses"][0].startswith("mse 1e7")
    assert "missed by 25%" in verdicts["bandwidth"]["misses"][0]  # 1.5x against a 1.2x limit
    assert verdicts["peers"]["status"] == "missed" and verdicts["peers"]["checks"] == 3
    assert verdicts["peers"]["misses"] == ["mse 1e2 (losskit[out] 2.00 us vs numpy[out] 1.00 us): 2.00x "
                                           "(limit 1x, missed by 100%)"]
    assert verdicts["overhead"]["status"] == "met" and "0.40x" in verdicts["overhead"]["summary"]
    assert verdicts["optimizer"]["status"] == "met" and verdicts["optimizer"]["checks"] == 1
    results["cases"] = results["cases"][1:2]
    verdicts = {t["id"]: t for t in targets.evaluate(results)["targets"]}
    assert verdicts["bandwidth"]["status"] == verdicts["optimizer"]["status"] == "not measured"
    assert all(verdicts[t]["status"] == "not measured" for t in ("ce-large", "ce-small", "bce", "barron"))


def test_kernel_targets_use_same_run_ratios():
    results = {
        "config": {"threads": 2},
        "workloads": {w: {"elementwise": w != "ce", "dtypes": ["float32"]}
                      for w in ("ce", "bce_with_logits", "barron", "mse")},
        "cases": [
            _case("ce", "4096x1000", 4096000, {"losskit[out]": ("losskit", 1.0e-3), "jax-jit": ("jax", 1.4e-3),
                                               "torch[out]": ("torch", 3e-3)}, suite="classification", shape=[4096, 1000]),
            _case("ce", "65536x10", 655360, {"losskit[out]": ("losskit", 0.5e-3), "torch[out]": ("torch", 0.9e-3),
                                             "torch-compile": ("torch", 1.2e-3)}, suite="classification", shape=[65536, 10]),
            _case("bce_with_logits", "1e7", 10**7, {"losskit[out]": ("losskit", 4e-3), "numpy[out]": ("numpy", 9e-2)},
                  stream_s=3e-3, suite="classification"),
            _case("barron", "1e7", 10**7, {"losskit[out]": ("losskit", 8.2e-3), "numpy[out]": ("numpy", 1e-1)}),
            _case("mse", "1e7", 10**7, {"losskit[out]": ("losskit", 4e-3), "numpy[out]": ("numpy", 9e-3)}),
        ],
    }
    verdicts = {t["id"]: t for t in targets.evaluate(results)["targets"]}
    # 1.0 ms against the fastest peer's 1.4 ms: 1.4x, short of 1.5x
    assert verdicts["ce-large"]["status"] == "missed" and "jax-jit" in verdicts["ce-large"]["misses"][0]
    # against torch.compile (1.2 ms), not the faster torch[out]: 2.4x
    assert verdicts["ce-small"]["status"] == "met" and "torch-compile" in verdicts["ce-small"]["summary"]
    assert verdicts["bce"]["status"] == "met" and "1.33x" in verdicts["bce"]["summary"]
    assert verdicts["barron"]["status"] == "missed" and "2.05x" in verdicts["barron"]["misses"][0]
    results["cases"][0]["impls"]["losskit[out]"]["median_s"] = 0.9e-3
    results["cases"][3]["impls"]["losskit[out]"]["median_s"] = 7.9e-3
    verdicts = {t["id"]: t for t in targets.evaluate(results)["targets"]}
    assert verdicts["ce-large"]["status"] == verdicts["barron"]["status"] == "met"


# ---------------------------------------------------------------------- command line

def test_help_list_and_usage_errors(capsys):
    assert run.main(["--help"]) == 0
    help_text = capsys.readouterr().out
    assert "--quick" in help_text and "suites: regression: mse" in help_text
    assert run.main(["--list"]) == 0
    listing = capsys.readouterr().out
    for name in catalog.WORKLOADS:
        assert f"  {name} " in listing
    for bad in (["--sizes", "0"], ["--workloads", "nope"], ["--shapes", "4x"], ["--dtypes", "int8"],
                ["--tables", "everything"], ["--repeats", "0"], ["--json", "/nonexistent/dir/x.json"]):
        assert run.main(bad) == 2, bad
        assert "error" in capsys.readouterr().err


# ------------------------------------------------------------- Barron's gradients vs autograd

def test_barron_grads_checks_before_timing(capsys):
    torch = pytest.importorskip("torch")
    from losskit.bench import barron_grads
    assert barron_grads.main(["--sizes", "1000", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "scalars" in out and "per element" in out
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(100, dtype=np.float32), rng.standard_normal(100, dtype=np.float32)
    lk = barron_grads._losskit_fn(losskit, x, y, 0.5, 0.7)()
    ref = barron_grads._torch_fn(torch, x.astype(np.float64), y.astype(np.float64), np.float64(0.5),
                                 np.float64(0.7))()
    barron_grads._check(lk, ref, scalar=True)
    wrong = (lk[0], lk[1], lk[2] * 1.01, lk[3])  # d/dalpha off by 1%
    with pytest.raises(SystemExit, match="d/dalpha"):
        barron_grads._check(wrong, ref, scalar=True)


def test_every_elementwise_loss_is_a_workload_with_a_checked_reference():
    """A loss without hand-written peers gets the default workload from its definition; its
    reference (losskit in float64) is checked against the NumPy formula of tests/reference.py."""
    from reference import REFERENCE

    for d in losskit._core.loss_definitions():
        if not (d["class_name"] and d["family"] == "elementwise" and d["arity"] == 2):
            continue
        assert d["name"] in catalog.WORKLOADS, d["name"]
    defaults = [w for w in catalog.WORKLOADS.values() if w.suite == "defined"]
    assert defaults, "every loss has hand-written peers: test the default workload elsewhere"
    for w in defaults:
        inputs = w.make_inputs((64,), np.float64, seed=3)
        ref = w.reference(inputs)
        case = REFERENCE[w.name]
        params = case.defaults
        np.testing.assert_allclose(ref.value, np.mean(case.ref_value((inputs["x"], inputs["y"]), params)),
                                   rtol=1e-12)
        np.testing.assert_allclose(ref.array, case.ref_grad((inputs["x"], inputs["y"]), params) / 64,
                                   rtol=1e-12, atol=1e-15)


def test_grad_hess_bench_times_every_two_argument_elementwise_loss(capsys):
    from losskit import _base
    from losskit.bench import grad_hess

    assert grad_hess.main(["--sizes", "1000", "--threads", "1", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    names = [n for n, d in _base.DEFINITIONS.items()
             if d["class_name"] and d["family"] == "elementwise" and d["arity"] == 2]
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split()}
    for name in names:
        ratio = float(rows[name][-1])
        assert ratio > 0


def test_rows_bench_times_every_rowwise_loss_and_its_torch_peer():
    pytest.importorskip("torch")
    from losskit.bench import rows

    out = rows.run(shapes=[(5, 3)], kdim_shapes=[(2, 3, 2, 2)], budget=0.0)
    names = {d["name"] for d in losskit._core.loss_definitions()
             if d["family"] == "rowwise" and d["class_name"]}
    timed = {r["loss"]: r for r in out}
    assert names <= set(timed)
    for name in names:
        assert timed[name]["losskit_us"] > 0
        assert ("torch_us" in timed[name]) == (name in rows.TORCH), name
    assert timed["cross_entropy (K-dim)"]["torch_us"] > 0


def test_torch_frontend_bench_times_every_loss_torch_has():
    torch = pytest.importorskip("torch")
    from losskit.bench import torch_frontend

    out = torch_frontend.run([64], None, rounds=1)
    names = {d["name"] for d in losskit._core.loss_definitions()
             if d["torch_function"] and d["class_name"]}
    assert {r["loss"] for r in out} == names
    for r in out:
        assert min(r["losskit.torch_s"], r["torch.nn_s"], r["losskit (NumPy)_s"],
                   r["dispatch_s"]) > 0
    # the check before timing refuses a gradient that differs from torch.nn's
    leaf = torch.zeros(3, requires_grad=True)

    def wrong():
        leaf.grad = None
        value = (leaf * 2.0).sum()
        value.backward()
        return value

    def right():
        leaf.grad = None
        value = leaf.sum()
        value.backward()
        return value

    with pytest.raises(SystemExit, match="gradient differs"):
        torch_frontend._check({"losskit.torch": wrong, "torch.nn": right}, [leaf])
