"""examples/cpp links losskit from C++ and from C alone, through find_package(losskit CONFIG):
built and run against the pip-installed wheel (losskit.get_cmake_dir()) and against a
`cmake --install` of this repository. The installed public headers compile on their own,
warning-free under -Wall -Wextra -Werror -pedantic (the C++ ones as C++17, the C ABI as C11),
and open nothing of pybind11 or Python; find_package checks the version asked for."""

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
CXX = shutil.which(os.environ.get("CXX", "c++"))
CC = shutil.which(os.environ.get("CC", "cc"))
needs_cmake = pytest.mark.skipif(CMAKE is None, reason="cmake is not installed")
PUBLIC_HEADERS = sorted(p.name for p in (Path(losskit.get_include()) / "losskit").glob("*.hpp"))
VERSION = ".".join(losskit.__version__.split(".")[:2])


def cmake(*args: str, cwd: Path | None = None) -> None:
    generator = ["-G", "Ninja"] if shutil.which("ninja") and args[0] == "-S" else []
    r = subprocess.run([CMAKE, *args, *generator], capture_output=True, text=True, timeout=900,
                       cwd=cwd)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]


def build_and_run_example(build: Path, *config: str) -> tuple[str, str]:
    """The output of the C++ example and of the C example."""
    cmake("-S", str(EXAMPLE), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release", *config)
    cmake("--build", str(build))
    outputs = []
    for program in ("train_linear", "train_linear_c"):
        r = subprocess.run([str(build / program)], capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, OMP_NUM_THREADS="2"))
        assert r.returncode == 0, r.stdout + r.stderr
        outputs.append(r.stdout)
    return outputs[0], outputs[1]


def max_weight_error(output: str) -> float:
    return float(output.strip().splitlines()[-1].rsplit("=", 1)[1])


@needs_cmake
def test_example_against_the_wheel(tmp_path):
    out, c_out = build_and_run_example(tmp_path / "build",
                                       f"-Dlosskit_DIR={losskit.get_cmake_dir()}")
    assert "mean Huber loss" in out and "mean Huber loss" in c_out
    assert max_weight_error(out) < 0.05
    assert max_weight_error(c_out) < 0.05
    assert "refused: delta must be positive and finite, got -1.0" in c_out


@needs_cmake
def test_example_against_a_cmake_install(tmp_path):
    prefix = tmp_path / "prefix"
    # (the baseline instruction set alone: what is tested is the installed package, and each
    # further set's kernels take minutes to compile)
    cmake("-S", str(ROOT), "-B", str(tmp_path / "lib"), "-DCMAKE_BUILD_TYPE=Release",
          "-DLOSSKIT_ISAS=sse2")
    cmake("--build", str(tmp_path / "lib"))
    cmake("--install", str(tmp_path / "lib"), "--prefix", str(prefix))
    assert (prefix / "include" / "losskit" / "losskit.hpp").is_file()
    assert (prefix / "include" / "losskit" / "losskit.h").is_file()
    out, c_out = build_and_run_example(tmp_path / "build", f"-DCMAKE_PREFIX_PATH={prefix}")
    assert max_weight_error(out) < 0.05
    assert max_weight_error(c_out) < 0.05


@needs_cmake
@pytest.mark.parametrize("version,found", [(VERSION, True), ("0.0", False), ("99.0", False)])
def test_find_package_checks_the_version(version, found, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.18)\nproject(version_check LANGUAGES CXX)\n"
        f"find_package(losskit {version} CONFIG REQUIRED)\n")
    r = subprocess.run([CMAKE, "-S", str(project), "-B", str(tmp_path / "build"),
                        f"-Dlosskit_DIR={losskit.get_cmake_dir()}"],
                       capture_output=True, text=True, timeout=300)
    assert (r.returncode == 0) == found, r.stdout[-2000:] + r.stderr[-2000:]


def test_the_wheel_ships_the_public_headers():
    # loss_ids.hpp, loss_objects.hpp and point_functions.hpp are generated from the loss
    # definitions by the build
    assert PUBLIC_HEADERS == ["checked.hpp", "core.hpp", "loss_ids.hpp", "loss_methods.hpp",
                              "loss_objects.hpp", "loss_types.hpp", "losskit.hpp", "optim.hpp",
                              "optimizer.hpp", "point.hpp", "point_functions.hpp", "span.hpp"]
    assert (Path(losskit.get_include()) / "losskit" / "losskit.h").is_file()


@pytest.mark.skipif(CC is None, reason="no C compiler")
def test_the_c_header_is_c11_and_opens_no_cpp(tmp_path):
    source = tmp_path / "only_the_c_header.c"
    source.write_text("#include <losskit/losskit.h>\nint main(void) { return LOSSKIT_OK; }\n")
    r = subprocess.run([CC, "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic",
                        "-fsyntax-only", "-H", "-I", losskit.get_include(), str(source)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-4000:]
    opened = [line.lstrip(".").strip() for line in r.stderr.splitlines() if line.startswith(".")]
    assert [p for p in opened if "losskit/" in p] == [
        p for p in opened if p.endswith("losskit/losskit.h")]


@pytest.mark.skipif(CXX is None, reason="no C++ compiler")
@pytest.mark.parametrize("header", PUBLIC_HEADERS)
def test_public_header_compiles_alone_and_includes_no_python(header, tmp_path):
    source = tmp_path / "only_this_header.cpp"
    source.write_text(f"#include <losskit/{header}>\nint main() {{ return 0; }}\n")
    # -H: every header the compiler opens, one per line on stderr ("." per nesting level)
    r = subprocess.run([CXX, "-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic",
                        "-fsyntax-only", "-H", "-I", losskit.get_include(), str(source)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-4000:]
    opened = [line.lstrip(".").strip() for line in r.stderr.splitlines() if line.startswith(".")]
    assert any(path.endswith(f"losskit/{header}") for path in opened)
    assert [p for p in opened if "pybind11" in p or "Python.h" in p] == []
