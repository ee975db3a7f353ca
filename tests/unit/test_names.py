import pytest

from provisioner.errors import InvalidName
from provisioner.names import invalid_reason, parse_name, source_selector_warning


@pytest.mark.parametrize(
    ("text", "display"),
    [
        ("llama3.2", "llama3.2:latest"),
        ("llama3.2:1b", "llama3.2:1b"),
        ("user/model:tag", "user/model:tag"),
        ("registry.ollama.ai/library/x:1", "x:1"),
        ("registry.ollama.ai/team/x", "team/x:latest"),
        ("localhost:5000/ns/m", "localhost:5000/ns/m:latest"),
        ("http://localhost:5000/ns/m:t", "localhost:5000/ns/m:t"),
        ("127.0.0.1:5000/library/tiny:v2", "127.0.0.1:5000/library/tiny:v2"),
    ],
)
def test_display_is_ollamas_shortest_form(text: str, display: str) -> None:
    assert parse_name(text).display == display


def test_same_model_whatever_the_spelling() -> None:
    tiny = parse_name("tiny")
    assert parse_name("TINY:latest").same_as(tiny)
    assert parse_name("registry.ollama.ai/library/tiny:latest").same_as(tiny)
    assert parse_name("Registry.Ollama.AI/Library/Tiny:LATEST").same_as(tiny)


def test_never_by_prefix() -> None:
    tiny = parse_name("tiny")
    assert not parse_name("tiny:v2").same_as(tiny)
    assert not parse_name("tiny-embed").same_as(tiny)
    assert not parse_name("team/tiny").same_as(tiny)
    assert not parse_name("llama3.2:1b").same_as(parse_name("llama3.2"))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the model is empty"),
        ("foo:", "the tag is empty"),
        ("/foo", "the namespace is empty"),
        ("localhost:5000/model", "a host needs a namespace too (host:port/namespace/model)"),
        ("a/b/c/d", "too many '/' separators (at most host/namespace/model:tag)"),
        ("my model", "invalid model 'my model'"),
        ("team.x/model", "invalid namespace 'team.x'"),
        ("-model", "invalid model '-model'"),
        ("m@sha256:abc", "invalid model 'm@sha256'"),
        ("x" * 81, f"invalid model {'x' * 81!r}"),
    ],
)
def test_invalid_names_say_why(text: str, reason: str) -> None:
    assert invalid_reason(text) == reason
    with pytest.raises(InvalidName, match="invalid model name"):
        parse_name(text)


def test_longest_valid_parts() -> None:
    assert parse_name("x" * 80 + ":" + "t" * 80).tag == "t" * 80


@pytest.mark.parametrize("tag", ["local", "cloud", "7b-cloud", "LOCAL"])
def test_source_selector_tags_are_flagged(tag: str) -> None:
    assert source_selector_warning(parse_name(f"m:{tag}")) is not None


def test_ordinary_tag_is_not_flagged() -> None:
    assert source_selector_warning(parse_name("m:7b")) is None
