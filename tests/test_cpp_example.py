"""examples/cpp links losskit from C++ alone, through find_package(losskit CONFIG): built and
run against the pip-installed wheel (losskit.get_cmake_dir()) and against a `cmake --install`
of this repository."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import losskit

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "cpp"
CMAKE = shutil.which("cmake")
pytestmark = pytest.mark.skipif(CMAKE is None, reason="cmake is not installed")


def cmake(*args: str, cwd: Path | None = None) -> None:
    generator = ["-G", "Ninja"] if shutil.which("ninja") and args[0] == "-S" else []
    r = subprocess.run([CMAKE, *args, *generator], capture_output=True, text=True, timeout=900,
                       cwd=cwd)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]


def build_and_run_example(build: Path, *config: str) -> str:
    cmake("-S", str(EXAMPLE), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release", *config)
    cmake("--build", str(build))
    r = subprocess.run([str(build / "train_linear")], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, OMP_NUM_THREADS="2"))
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def max_weight_error(output: str) -> float:
    return float(output.strip().splitlines()[-1].rsplit("=", 1)[1])


def test_example_against_the_wheel(tmp_path):
    out = build_and_run_example(tmp_path / "build", f"-Dlosskit_DIR={losskit.get_cmake_dir()}")
    assert "mean Huber loss" in out
    assert max_weight_error(out) < 0.05


def test_example_against_a_cmake_install(tmp_path):
    prefix = tmp_path / "prefix"
    cmake("-S", str(ROOT), "-B", str(tmp_path / "lib"), "-DCMAKE_BUILD_TYPE=Release")
    cmake("--build", str(tmp_path / "lib"))
    cmake("--install", str(tmp_path / "lib"), "--prefix", str(prefix))
    assert (prefix / "include" / "losskit" / "losskit.hpp").is_file()
    out = build_and_run_example(tmp_path / "build", f"-DCMAKE_PREFIX_PATH={prefix}")
    assert max_weight_error(out) < 0.05
