"""What a user installs: `make dist` from a clean clone, the wheel in a fresh venv."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(
    cmd: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # Nothing from this checkout may leak into what is tested: no PYTHONPATH, no .venv on PATH.
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        cmd, cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True, timeout=300
    )


def expected_version(clone: Path) -> str:
    """What the CHANGELOG's top entry names: `## X.Y.Z` as is, or X.Y.(Z+1).devN past
    it (an Unreleased section above it), N the commits since that heading was written."""
    text = (clone / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[?([^\]\s]+)", text, re.MULTILINE)
    released: str = next(h for h in headings if re.fullmatch(r"\d+\.\d+\.\d+", h))
    if headings[0].lower() != "unreleased":
        return released
    wrote = run(["git", "log", "-1", "--format=%H", "-G", f"^## {re.escape(released)}$",
                 "--", "CHANGELOG.md"], clone).stdout.strip()  # fmt: skip
    since = run(["git", "rev-list", "--count", f"{wrote}..HEAD"], clone).stdout.strip()
    assert wrote and since.isdigit(), (wrote, since)
    major, minor, patch = released.split(".")
    return f"{major}.{minor}.{int(patch) + 1}.dev{since}"


def readme_install_lines(readme: str) -> list[str]:
    """The command lines of the README's Install block, comments dropped."""
    section = readme.split("\n## Install\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_the_readme_install_lines_work_verbatim_on_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    cloned = run(["git", "clone", "--quiet", str(ROOT), str(clone)], tmp_path)
    assert cloned.returncode == 0, cloned.stderr
    version = expected_version(clone)
    made = run(["make", "--no-print-directory", "dist", f"PY={sys.executable}"], clone)
    assert made.returncode == 0, made.stdout + made.stderr
    lines = readme_install_lines((clone / "README.md").read_text())
    assert any(line.startswith("pipx install ./dist/") for line in lines), lines
    assert lines[-1] == "ollama-provision --version", lines
    # The git lines name this repository's GitHub address: here, the clone stands in
    # for it (no network); the ref they name must exist in it, as on GitHub.
    upstream = "https://github.com/ollama-provision/ollama-provision"
    venv = tmp_path / "venv"  # runs the lines: pipx in it, and `python3` is its python
    assert run([sys.executable, "-m", "venv", str(venv)], tmp_path).returncode == 0
    pipx = run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "pipx"], tmp_path)
    assert pipx.returncode == 0, pipx.stderr
    *installs, check = lines
    for n, line in enumerate(installs):
        # Each install line in a home of its own, then the README's last line there.
        home = tmp_path / f"home{n}"
        bin_dir = home / ".local" / "bin"
        env = {
            "HOME": str(home),
            "PIPX_HOME": str(home / ".local" / "pipx"),
            "PIPX_BIN_DIR": str(bin_dir),
            "PATH": f"{bin_dir}:{venv / 'bin'}:/usr/bin:/bin",
        }
        ran = run(["bash", "-c", line.replace(upstream, f"file://{clone}")], clone, env)
        assert ran.returncode == 0, (line, ran.stdout + ran.stderr)
        shown = run(["bash", "-c", check], tmp_path, env)
        assert shown.stdout.strip() == f"ollama-provision, version {version}", (line, shown)
        if line.startswith("pipx"):
            assert (bin_dir / "ollama-provision").exists(), line


def test_make_dist_builds_a_wheel_that_installs_and_runs_in_a_fresh_venv(tmp_path: Path) -> None:
    # A clean clone: only what is committed, with the tags if the checkout has them.
    clone = tmp_path / "clone"
    cloned = run(["git", "clone", "--quiet", str(ROOT), str(clone)], tmp_path)
    assert cloned.returncode == 0, cloned.stderr
    version = expected_version(clone)

    started = time.monotonic()
    made = run(["make", "--no-print-directory", "dist", f"PY={sys.executable}"], clone)
    build_seconds = time.monotonic() - started
    assert made.returncode == 0, made.stdout + made.stderr
    built = sorted(p.name for p in (clone / "dist").iterdir())
    (wheel_name,) = [n for n in built if n.endswith(".whl")]
    (sdist_name,) = [n for n in built if n.endswith(".tar.gz")]
    assert len(built) == 2, built
    assert wheel_name == f"ollama_provision-{version}-py3-none-any.whl", (wheel_name, version)
    assert sdist_name == f"ollama_provision-{version}.tar.gz", (sdist_name, version)
    assert not wheel_name.startswith("ollama_provision-0.0.0")
    wheel = clone / "dist" / wheel_name
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "ollama-provision = provisioner.cli:main" in zf.read(entry_points).decode()
    assert {"provisioner/schemas/manifest.schema.json", "provisioner/py.typed"} <= names
    assert not any(n.startswith("tests/") for n in names)

    # A fresh venv with nothing in it; pip from outside installs the wheel and its
    # dependencies (PyPI, or pip's cache) into it.
    venv = tmp_path / "fresh"
    started = time.monotonic()
    made_venv = run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    assert made_venv.returncode == 0, made_venv.stderr
    python = venv / "bin" / "python"
    installed = run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--disable-pip-version-check", str(wheel)],
        tmp_path,
    )  # fmt: skip
    install_seconds = time.monotonic() - started
    assert installed.returncode == 0, installed.stdout + installed.stderr
    print(
        f"wheel {wheel_name}: {wheel.stat().st_size / 1024:.0f} KiB; make dist "
        f"{build_seconds:.1f} s; fresh venv + install {install_seconds:.1f} s"
    )

    # Run from elsewhere: what answers is the installed copy, not this checkout.
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ROOT / "examples" / "minimal.yaml", work / "minimal.yaml")
    tool = str(venv / "bin" / "ollama-provision")
    where = run([str(python), "-c", "import provisioner; print(provisioner.__file__)"], work)
    assert where.stdout.strip().startswith(str(venv / "lib")), where.stdout + where.stderr

    shown = run([tool, "--version"], work)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"ollama-provision, version {wheel_name.split('-')[1]}"

    valid = run([tool, "validate", "minimal.yaml"], work)
    assert (valid.returncode, valid.stdout.strip()) == (0, "minimal.yaml: valid"), valid.stderr
    as_json = run([tool, "-o", "json", "validate", "minimal.yaml"], work)
    assert json.loads(as_json.stdout)["valid"] is True

    # The schema shipped in the wheel does the checking: a typo is found at its line.
    (work / "models.yaml").write_text("version: 1\nmodels:\n  - nmae: llama3.2\n")
    invalid = run([tool, "validate", "models.yaml"], work)
    assert invalid.returncode == 2
    assert "models.yaml:3:" in invalid.stderr
