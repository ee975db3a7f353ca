"""Start and stop the test bed's background processes, each in its own process group."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path


def spawn(
    cmd: list[str], *, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a long-running process with stdout and stderr going to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # so stop() also ends children (Ollama's runners)
        )


def stop(proc: subprocess.Popen[bytes], *, grace: float = 5.0) -> None:
    """Terminate the whole process group, killing it if it does not exit in time."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def kill_hard(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the whole group at once, as a crash would."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    proc.wait()
