"""The inventory: servers, labels, and every problem at its file:line:col."""

from pathlib import Path

import pytest

from provisioner import secrets
from provisioner.errors import ManifestError
from provisioner.fleet.inventory import from_hosts, load_inventory

GOOD = """\
servers:
  - name: gpu-1
    host: 10.0.0.5
    labels: {gpu: true, rack: 3}
    headers: {Authorization: "Bearer ${TOKEN}"}
    timeout: 30s
  - {name: cpu-1, host: "https://ollama.example.com"}
"""


def test_a_good_inventory(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(GOOD)
    gpu, cpu = load_inventory(path, env={"TOKEN": "s3cret-token"})
    assert (gpu.name, gpu.host, dict(gpu.labels), gpu.timeout) == (
        "gpu-1", "10.0.0.5", {"gpu": "true", "rack": "3"}, 30.0,
    )  # fmt: skip
    assert gpu.headers == {"Authorization": "Bearer s3cret-token"}
    assert secrets.mask("token s3cret-token") != "token s3cret-token"  # never printed
    assert gpu.origin == f"the host of 'gpu-1' in {path}"
    assert (cpu.name, dict(cpu.labels), cpu.timeout) == ("cpu-1", {}, None)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("servers: []\n", "1:10: "),
        (
            "servers:\n  - {name: a, hots: x}\n",
            "2:15: unknown key 'hots' in server 'a' (did you mean 'host'?)",
        ),
        ("servers:\n  - {name: a}\n", "2:5: missing key 'host' in server 'a'"),
        (
            "servers:\n  - {name: 'a b', host: x}\n",
            "2:12: 'name' in server 'a b' is not a valid server name",
        ),
        (
            "servers:\n  - {name: a, host: x}\n  - {name: A, host: y}\n",
            "3:12: server name 'A' is used twice (first on line 2)",
        ),
        (
            "servers:\n  - {name: a, host: x}\n  - {name: b, host: 'http://x:11434'}\n",
            "3:21: server 'b' has the address of the server on line 2",
        ),
        ("servers:\n  - {name: a, host: 'ftp://x'}\n", "2:21: 'ftp://x' is not an Ollama address"),
        ("servers:\n  - {name: a, host: x, labels: {gpu: [1]}}\n", "2:38: a label value must be"),
        ("servers:\n  - {name: a, host: x, timeout: soon}\n", "2:33: invalid 'timeout' of 'a'"),
        (
            "servers:\n  - {name: a, host: x, headers: {X: '${NOPE}'}}\n",
            "2:38: environment variable NOPE is not set",
        ),
        ("", "1:1: the inventory is empty"),
        ("servers:\n  - {name: a, host: x}\n  - {name: a\n", "4:1: a '{' mapping is not closed"),
    ],
)
def test_problems_name_their_place(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    with pytest.raises(ManifestError) as err:
        load_inventory(path, env={})
    lines = [str(p) for p in err.value.problems]
    assert any(line.startswith(f"{path}:{problem}") for line in lines), lines


def test_a_header_value_is_never_in_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("servers:\n  - {name: a, host: x, headers: {X: [hidden-value]}}\n")
    with pytest.raises(ManifestError) as err:
        load_inventory(path, env={})
    assert "hidden-value" not in str(err.value.problems)


def test_a_folder_or_fifo_is_refused_in_one_line(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (tmp_path, fifo):
        with pytest.raises(ManifestError) as err:
            load_inventory(path)
        (problem,) = err.value.problems
        assert "cannot read the inventory" in str(problem)


def test_hosts_given_twice_are_one_server() -> None:
    servers = from_hosts(["10.0.0.5", "http://10.0.0.5:11434", "gpu-2:8080"])
    assert [(s.name, s.host, s.origin) for s in servers] == [
        ("10.0.0.5:11434", "10.0.0.5", "--host"),
        ("gpu-2:8080", "gpu-2:8080", "--host"),
    ]


def test_a_password_in_a_host_is_never_in_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("servers:\n  - name: a\n    host: http://user:s3cr3tpw@127.0.0.1:9\n")
    with pytest.raises(ManifestError) as e:
        load_inventory(path, env={})
    assert "'http://user:***@127.0.0.1:9' is not an Ollama address" in str(e.value)
    assert "s3cr3tpw" not in str(e.value)
