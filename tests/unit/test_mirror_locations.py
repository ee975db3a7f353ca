"""DEST and --from parsing, and the repository a model gets at a registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.errors import UsageError
from provisioner.mirror.locations import LayoutLocation, RegistryLocation, parse_location
from provisioner.names import parse_name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mirror.corp:5000", RegistryLocation("mirror.corp:5000")),
        ("Mirror.Corp", RegistryLocation("mirror.corp")),
        ("mirror.corp:5000/ollama/", RegistryLocation("mirror.corp:5000", "ollama")),
        ("127.0.0.1:5000/b-c", RegistryLocation("127.0.0.1:5000", "b-c")),
        ("http://127.0.0.1:5000", RegistryLocation("127.0.0.1:5000", insecure=True)),
        ("https://mirror.corp", RegistryLocation("mirror.corp")),
        ("oci:/mnt/disk/models", LayoutLocation(Path("/mnt/disk/models"))),
        ("oci:relative", LayoutLocation(Path("relative"))),
    ],
)
def test_parse(text: str, expected: object) -> None:
    assert parse_location(text) == expected


def test_to_insecure_is_kept() -> None:
    assert parse_location("h:1", insecure=True) == RegistryLocation("h:1", insecure=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("oci:", "needs a folder"),
        ("ftp://h", "HOST\\[:PORT\\]"),
        ("-bad-/x", "not a registry host"),
        ("h:5000/Upper", "path prefix 'Upper'"),
        ("h:5000/a//b", "a prefix is one path segment"),
        ("h:5000/a/b", "a prefix is one path segment"),
        ("/mnt/disk", "a folder is written oci:PATH"),
    ],
)
def test_bad_values_are_usage_errors_naming_the_option(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=f"--to .*{message}"):
        parse_location(text)


def test_repository_is_namespace_and_model_in_lower_case_or_the_prefix_for_the_namespace() -> None:
    name = parse_name("registry.ollama.ai/Library/Llama3.2:Q4")
    assert RegistryLocation("m:5000").repository(name) == "library/llama3.2"
    # the same name `mirrors: {registry.ollama.ai: m:5000/ollama}` pulls (manifest/mirrors.py)
    assert RegistryLocation("m:5000", "ollama").repository(name) == "ollama/llama3.2"


def test_two_models_on_one_prefixed_repository_are_refused() -> None:
    from provisioner.commands.mirror import _refuse_shared_repositories
    from provisioner.mirror.select import Wanted

    one, other = parse_name("library/tiny"), parse_name("team/tiny")
    _refuse_shared_repositories(
        RegistryLocation("m:5000"), (Wanted(one, False), Wanted(other, False))
    )
    with pytest.raises(UsageError, match="would both be m:5000/ollama/tiny:latest"):
        _refuse_shared_repositories(
            RegistryLocation("m:5000", "ollama"), (Wanted(one, False), Wanted(other, False))
        )
