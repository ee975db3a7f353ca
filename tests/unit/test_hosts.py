import pytest

from provisioner.errors import UsageError
from provisioner.server.hosts import masked, parse_host, resolve_host


@pytest.mark.parametrize(
    ("value", "url"),
    [
        ("", "http://127.0.0.1:11434"),
        ("example.com", "http://example.com:11434"),
        ("example.com:8080", "http://example.com:8080"),
        ("::1", "http://[::1]:11434"),
        ("[::1]:9000", "http://[::1]:9000"),
        ("https://x", "https://x:443"),
        ("http://x", "http://x:80"),
        ("https://example.com/ollama", "https://example.com:443/ollama"),
        (' "127.0.0.1:5" ', "http://127.0.0.1:5"),
        ("localhost:99999", "http://localhost:11434"),
        ("localhost:abc", "http://localhost:11434"),
    ],
)
def test_parsed_as_ollama_parses_ollama_host(value: str, url: str) -> None:
    assert parse_host(value) == (url, None)


@pytest.mark.parametrize(
    ("value", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("0.0.0.0:8080", "http://127.0.0.1:8080"),
        (":1234", "http://127.0.0.1:1234"),
        ("[::]:99", "http://[::1]:99"),
    ],
)
def test_listen_addresses_connect_to_loopback_with_a_note(value: str, url: str) -> None:
    got, note = parse_host(value)
    assert got == url
    assert note is not None and "listen address" in note


def test_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "envhost:1")
    assert resolve_host("clihost:2", "filehost:3").url == "http://clihost:2"
    assert resolve_host(None, "filehost:3").source == "manifest"
    assert resolve_host(None, None).url == "http://envhost:1"
    monkeypatch.delenv("OLLAMA_HOST")
    assert resolve_host(None, None).url == "http://127.0.0.1:11434"
    assert resolve_host(None, None).source == "default"


def test_a_set_ollama_host_that_is_not_used_is_said_in_one_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", " envhost:1 ")
    assert resolve_host(None, "filehost:3").notes == (
        "OLLAMA_HOST=envhost:1 not used: the manifest's server.host comes first",
    )
    assert resolve_host("clihost:2", None).notes == (
        "OLLAMA_HOST=envhost:1 not used: --host comes first",
    )
    assert resolve_host(None, None).notes == ()  # used: nothing to say
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0")
    listen, unused = resolve_host("0.0.0.0:5", None).notes
    assert "listen address" in listen and unused.startswith("OLLAMA_HOST=0.0.0.0 not used")


@pytest.mark.parametrize(
    ("cli_host", "manifest_host", "said"),
    [
        ("ftp://x", None, "--host: 'ftp://x' is not an Ollama address: use http:// or https://"),
        (
            None,
            "unix:///var/run/ollama.sock",
            "server.host in the manifest: 'unix:///var/run/ollama.sock' is not an Ollama "
            "address: use http:// or https://",
        ),
        (
            "http://a b",
            None,
            "--host: 'http://a b' is not an Ollama address: host[:port] has no spaces or @",
        ),
    ],
)
def test_unusable_hosts_are_usage_errors_naming_their_source(
    cli_host: str | None, manifest_host: str | None, said: str
) -> None:
    with pytest.raises(UsageError) as err:
        resolve_host(cli_host, manifest_host)
    assert str(err.value) == said


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("http://user:s3cr3tpw@127.0.0.1:9", "http://user:***@127.0.0.1:9"),
        ("user:s3cr3tpw@gpu-1:8080/ollama", "user:***@gpu-1:8080/ollama"),
        ("ftp://u:p@w@x", "ftp://u:***@x"),
        ("http://user@x", "http://user@x"),  # no password to hide
        ("http://x/a:b@c", "http://x/a:b@c"),  # in the path, not userinfo
    ],
)
def test_masked_hides_the_userinfo_password(value: str, shown: str) -> None:
    assert masked(value) == shown


@pytest.mark.parametrize("scheme", ["http", "ftp"])
def test_a_password_in_host_or_ollama_host_is_never_in_the_error(
    monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    value = f"{scheme}://user:s3cr3tpw@127.0.0.1:9"
    with pytest.raises(UsageError) as cli:
        resolve_host(value, None)
    monkeypatch.setenv("OLLAMA_HOST", value)
    with pytest.raises(UsageError) as env:
        resolve_host(None, None)
    for error, source in ((cli.value, "--host"), (env.value, "OLLAMA_HOST")):
        assert str(error).startswith(f"{source}: '{scheme}://user:***@127.0.0.1:9' is not ")
        assert "s3cr3tpw" not in str(error)
