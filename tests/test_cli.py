"""The `losskit` command, run as `python -m losskit ...` in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import losskit


# Subprocesses start outside the source tree: from the repository root, `python -m losskit`
# would import the uncompiled source package instead of the installed one.
NEUTRAL_CWD = tempfile.gettempdir()


def run(*args, check=True):
    """`python -m losskit ARGS` in a fresh interpreter."""
    cmd = [sys.executable, "-m", "losskit", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=NEUTRAL_CWD)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def test_list_json():
    rows = json.loads(run("list", "--json").stdout)
    names = [r["name"] for r in rows]
    assert names == losskit.available_losses()
    by = {r["name"]: r for r in rows}
    assert by["huber"]["params"] == {"delta": 1.0}
    assert by["huber"]["formula"]
    p = by["huber"]["properties"]
    assert p["task"] == "regression" and p["convex"] and p["smooth"] and p["bounded_gradient"]
    assert not by["mse"]["properties"]["bounded_gradient"]
    assert not by["l1"]["properties"]["smooth"]
    assert by["cross_entropy"]["properties"]["probabilistic"]
    text = run("list").stdout
    assert "HuberLoss(delta=1.0)" in text and "bounded gradient" in text


def test_gradcheck_all_and_json():
    out = run("gradcheck").stdout
    assert f"{len(losskit.available_losses())}/{len(losskit.available_losses())} losses pass" in out
    data = json.loads(run("gradcheck", "huber", "gaussian_nll", "cross_entropy", "--json").stdout)
    assert data["passed"]
    assert [r["name"] for r in data["losses"]] == ["huber", "gaussian_nll", "cross_entropy"]
    assert all(r["max_rel_error"] < 1e-6 for r in data["losses"])
    assert "third" in data["losses"][1]


def call(capsys, *args):
    """The command in this process (for the cases that need no fresh interpreter)."""
    from losskit._cli import main

    try:
        rc = main(list(args))
    except SystemExit as exc:  # argparse errors
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def test_gradcheck_fails_loudly_on_a_wrong_gradient(capsys, monkeypatch):
    orig = losskit.HuberLoss.grad
    monkeypatch.setattr(losskit.HuberLoss, "grad", lambda self, *a, **k: 1.5 * orig(self, *a, **k))
    rc, out, _ = call(capsys, "gradcheck", "huber", "mse")
    assert rc == 1
    assert "FAIL" in out and "1/2 losses pass" in out


def test_unknown_names(capsys):
    rc, _, err = call(capsys, "gradcheck", "hubber")
    assert rc == 2 and "unknown loss 'hubber'; available losses: " in err
    listed = err.split("available losses: ", 1)[1].split()
    assert {n.rstrip(",") for n in listed} == set(losskit.available_losses())
    rc, _, err = call(capsys, "fit", "line", "--optimizer", "adamx")
    assert rc == 2 and "nesterov" in err
    rc, _, err = call(capsys, "fit", "nothing.npy")
    assert rc == 2 and "no such file" in err
    rc, _, err = call(capsys, "fit", "mnist")
    assert rc == 2 and "built-in data sets: line, digits" in err
    rc, _, err = call(capsys, "fit", "line", "--loss", "hubber")
    assert rc == 2 and "unknown loss 'hubber'" in err


def test_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "huber.png"
    r = run("plot", "huber", "delta=0.5", "-o", str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote" in r.stdout
    for name in ("cross_entropy", "hinge", "gaussian_nll"):
        rc, _, _ = call(capsys, "plot", name, "-o", str(tmp_path / f"{name}.png"))
        assert rc == 0 and (tmp_path / f"{name}.png").exists()


def test_plot_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    rc, _, err = call(capsys, "plot", "huber", "-o", str(tmp_path / "x.png"))
    assert rc == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "pip install 'losskit[plot]'" in lines[0]
    assert not (tmp_path / "x.png").exists()


def test_fit_builtin_line_and_model_file(tmp_path):
    model = tmp_path / "m.npz"
    r = run("fit", "line", "--loss", "huber", "--loss-param", "delta=1.35", "--penalty", "none",
            "-o", str(model), "--json")
    res = json.loads(r.stdout)
    assert res["task"] == "regression" and res["solver"] == "newton"
    assert abs(res["slope"] - 0.7) < 0.01 and abs(res["intercept"] - 0.15) < 0.01
    with np.load(model) as z:
        assert z["coef"].shape == (1,) and len(z["loss_curve"]) == res["n_iter"] + 1
        assert json.loads(str(z["meta"]))["slope"] == res["slope"]


def test_fit_files(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    rc, out, _ = call(capsys, "fit", str(tmp_path / "d.npz"), "--json", "--optimizer",
                      "nesterov", "--lr", "0.05", "--task", "classification")
    res = json.loads(out)
    assert res["task"] == "classification" and res["test_accuracy"] > 0.9
    table = np.column_stack([X, 2 * X[:, 0] + 1])
    np.save(tmp_path / "t.npy", table)
    with open(tmp_path / "t.csv", "w") as f:
        f.write("a,b,c,target\n")
        np.savetxt(f, table, delimiter=",")
    for name in ("t.npy", "t.csv"):
        rc, out, _ = call(capsys, "fit", str(tmp_path / name), "--json", "--epochs", "40",
                          "--lr", "0.05")
        res = json.loads(out)
        assert res["task"] == "regression" and res["test_r2"] > 0.99
    text = run("fit", str(tmp_path / "t.csv"), "--epochs", "2", "--optimizer", "adam").stdout
    assert "test_r2" in text and "trained by adam: 2 epochs" in text


def test_demo(tmp_path):
    r = run("demo", "--quick", "--out-dir", str(tmp_path))
    out = r.stdout
    assert "truth" in out and "MSELoss" in out and "HuberLoss(delta=0.05)" in out
    for method in ("random search", "random local search", "full-batch gradient descent",
                   "minibatch SGD", "momentum", "Nesterov", "Adam"):
        assert method in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.strip().startswith(("MSELoss", "HuberLoss", "L1Loss"))}
    assert float(rows["MSELoss"][3]) > 0.03  # the |error| column
    assert float(rows["HuberLoss(delta=0.05)"][3]) < 0.03
    assert float(rows["L1Loss"][3]) < 0.03
    assert r.stderr == ""  # no progress bar when stderr is not a terminal
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "install matplotlib" in out
    else:
        assert (tmp_path / "losskit-demo-regression.png").exists()
        assert (tmp_path / "losskit-demo-ladder.png").exists()


def test_demo_boosting(tmp_path):
    pytest.importorskip("xgboost")
    r = run("demo", "boosting", "--quick", "--out-dir", str(tmp_path))
    import re

    rows = {m.group(1): float(m.group(2)) for m in
            re.finditer(r"^ +(\S.*?) {2,}(\d+\.\d+) +\d+\.\d+s$", r.stdout, re.MULTILINE)}
    builtin = rows.pop("XGBoost reg:squarederror")
    assert set(rows) == {"losskit huber(delta=0.3)", "losskit barron(alpha=0)"}
    # the clean curve spans about [-1.3, 1.2]; the outliers sit 3 to 6 above it
    assert all(mae < builtin / 3 for mae in rows.values()), (rows, builtin)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "install matplotlib" in r.stdout
    else:
        assert (tmp_path / "losskit-demo-boosting.png").exists()


def test_demo_boosting_without_xgboost_names_the_extra():
    code = ("import sys; sys.modules['xgboost'] = None\n"
            "from losskit._cli import main\n"
            "sys.exit(main(['demo', 'boosting', '--no-plots']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       cwd=NEUTRAL_CWD)
    assert r.returncode == 2
    assert "losskit demo: error: the boosting demo needs xgboost" in r.stderr
    assert "pip install 'losskit[gbdt]'" in r.stderr


def test_progress_bar_draws_only_on_a_terminal():
    import io

    from losskit._progress import Progress

    quiet = io.StringIO()
    with Progress(3, "x", file=quiet) as bar:
        bar.update(3, loss=0.5)
    assert quiet.getvalue() == ""
    loud = io.StringIO()
    with Progress(3, "x", file=loud, enabled=True) as bar:
        bar.update(3, loss=0.5)
    assert "[" in loud.getvalue() and "3/3" in loud.getvalue() and "loss 0.5" in loud.getvalue()


# ---- real files: headers, delimiters, labels, models ----------------------------------------
def _write_table(path, header, rows, delimiter=","):
    with open(path, "w") as f:
        if header:
            f.write(delimiter.join(header) + "\n")
        for r in rows:
            f.write(delimiter.join(str(v) for v in r) + "\n")


def test_fit_csv_with_header_target_name_delimiters_and_string_labels(tmp_path, capsys):
    sklearn = pytest.importorskip("sklearn")
    from sklearn.datasets import load_diabetes, load_iris
    from sklearn.linear_model import LinearRegression

    X, y = load_diabetes(return_X_y=True)
    names = [f"f{j}" for j in range(X.shape[1])]
    cells = [[repr(float(v)) for v in X[i]] for i in range(len(y))]
    rows = [cells[i][:5] + [repr(float(y[i]))] + cells[i][5:] for i in range(len(y))]
    for delim, ext in ((",", "csv"), (";", "csv"), ("\t", "tsv")):
        path = tmp_path / f"diabetes.{ext}"
        _write_table(path, names[:5] + ["progression"] + names[5:], rows, delim)
        rc, out, err = call(capsys, "fit", str(path), "--target", "progression", "--json",
                            "--seed", "0")
        assert rc == 0, err
        res = json.loads(out)
        assert res["task"] == "regression" and res["target"] == "progression"
        assert res["n_features"] == 10 and res["solver"] == "newton"
    # the same split by hand: the default model is within 0.02 of least squares
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    test, train = np.sort(order[:round(0.25 * len(y))]), np.sort(order[round(0.25 * len(y)):])
    ref = LinearRegression().fit(X[train], y[train]).score(X[test], y[test])
    assert res["test_r2"] >= ref - 0.02

    Xi, yi = load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[yi]
    path = tmp_path / "iris.csv"
    _write_table(path, ["a", "b", "c", "d", "species"], [[*Xi[i], labels[i]] for i in range(len(yi))])
    model = tmp_path / "iris.npz"
    rc, out, err = call(capsys, "fit", str(path), "--target", "species", "--json", "-o", str(model))
    assert rc == 0, err
    res = json.loads(out)
    assert res["task"] == "classification" and res["test_accuracy"] > 0.9
    # predict: the target column is recognised by its name and scored
    rc, out, err = call(capsys, "predict", str(model), str(path), "--json")
    assert rc == 0, err
    pred = json.loads(out)
    assert set(pred["predictions"]) <= set(labels) and pred["accuracy"] > 0.9
    # no header and text labels: the first row is data, not a header
    plain = tmp_path / "plain.csv"
    _write_table(plain, None, [[*Xi[i], labels[i]] for i in range(len(yi))])
    rc, out, err = call(capsys, "fit", str(plain), "--json", "--test-size", "0")
    assert rc == 0, err
    assert json.loads(out)["n_train"] == len(yi)
    # features only, no header: one label per line
    feats = tmp_path / "feats.csv"
    _write_table(feats, None, Xi[:5])
    rc, out, err = call(capsys, "predict", str(model), str(feats))
    assert rc == 0, err
    assert out.split() == ["setosa"] * 5


def test_integer_targets_are_regressed_unless_asked(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = np.clip(np.round(2 * X[:, 0] + 3), 0, 6).astype(int)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    rc, out, err = call(capsys, "fit", str(tmp_path / "d.npz"))
    assert rc == 0 and "regression" in out and "--task classification" in err
    rc, out, _ = call(capsys, "fit", str(tmp_path / "d.npz"), "--task", "classification", "--json")
    assert json.loads(out)["task"] == "classification"


def test_user_errors_are_one_line_with_exit_status_2(tmp_path, capsys, monkeypatch):
    from losskit import _estimators

    trained = []
    monkeypatch.setattr(_estimators.LinearRegressor, "fit",
                        lambda self, *a, **k: trained.append(1))
    monkeypatch.setattr(_estimators.LinearClassifier, "fit",
                        lambda self, *a, **k: trained.append(1))
    three = tmp_path / "three.csv"
    _write_table(three, ["a", "b", "y"], [[1, 2, 3], [4, 5, 6], [7, 8, 9], [1, 1, 1]])
    (tmp_path / "empty.npz").write_bytes(b"")
    np.savez(tmp_path / "none.npz")
    np.savez(tmp_path / "uneven.npz", X=np.ones((5, 2)), y=np.ones(4))
    bad_row = tmp_path / "bad.csv"
    _write_table(bad_row, None, [[1, 2, 3], [4, "x5", 6], [7, 8, 9]])
    cases = [
        (("fit", str(three), "--loss", "huber", "--loss-param", "delta=abc"), "delta"),
        (("fit", str(three), "--loss", "huber", "--loss-param", "delt=1"), "delt"),
        (("fit", str(tmp_path)), "is a directory"),
        (("fit", str(tmp_path / "empty.npz")), "not a readable .npz"),
        (("fit", str(tmp_path / "none.npz")), "holds no arrays"),
        (("fit", str(tmp_path / "uneven.npz")), "one value per row"),
        (("fit", str(three), "-o", str(tmp_path / "missing" / "m.npz")), "does not exist"),
        (("fit", str(three), "--test-size", "-1"), "--test-size must lie in [0, 1)"),
        (("fit", str(three), "--target", "99"), "--target 99: "),
        (("fit", str(three), "--target", "z"), "no such column"),
        (("fit", str(bad_row)), "line 2, column 1: 'x5' is not a number"),
        (("fit", str(three), "--epochs", "0"), "--epochs"),
        (("fit", str(three), "--task", "regression", "--loss", "cross_entropy"), "not a regression loss"),
        (("gradcheck", "huber", "--seed", "-1"), "--seed must be non-negative"),
        (("plot", "huber", "--range", "5", "-5"), "LO < HI"),
        (("predict", str(three), str(three)), "not a model"),
    ]
    for args, match in cases:
        rc, out, err = call(capsys, *args)
        assert rc == 2, (args, out, err)
        assert len(err.strip().splitlines()) == 1 and match in err, (args, err)
        assert "Traceback" not in err
    assert not trained  # every error was found before any training


def test_help_on_every_option_and_version(capsys):
    from losskit._cli import main

    for command in ("fit", "predict", "plot", "gradcheck", "list", "demo"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        options = [ln.split()[0] for ln in text.splitlines() if ln.strip().startswith("-")]
        lines = text.splitlines()
        for i, ln in enumerate(lines):
            stripped = ln.strip()
            if stripped.startswith("-") and not stripped.startswith("-h"):
                # help text on the same line (after two spaces) or the next, indented
                parts = stripped.split("  ")
                has_text = len([p for p in parts if p.strip()]) >= 2 or (
                    i + 1 < len(lines) and lines[i + 1].startswith(" " * 20))
                assert has_text, (command, stripped)
        assert options
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"losskit {losskit.__version__}"


def test_list_properties_hold_for_every_alpha():
    rows = {r["name"]: r for r in json.loads(run("list", "--json").stdout)}
    p = rows["adaptive_barron"]["properties"]
    assert not p["convex"] and not p["bounded_gradient"]
    assert "num_dims" not in rows["adaptive_barron"]["params"]
