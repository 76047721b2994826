"""The warm build server: same files, messages and exit codes as a build in one process."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ROOT, SEED
from exporter import client, launch

EXPORTER = [sys.executable, "-m", "exporter"]


def _digests(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.iterdir()) if path.is_file()}


def _run(args: list[str | Path], env: dict[str, str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*EXPORTER, *map(str, args)], env=env, capture_output=True, check=False,
                          timeout=300, **kwargs)  # type: ignore[call-overload]


def _status(env: dict[str, str]) -> dict[str, object] | None:
    address = launch.server_address(env)
    assert address is not None
    return client.ask_server(address, "status")


@pytest.fixture()
def runtime() -> Iterator[Path]:
    """A private folder for the server's socket, short enough for a socket's path."""
    folder = Path(tempfile.mkdtemp(prefix="xr-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _checkout_env(runtime: Path, **extra: str) -> dict[str, str]:
    """An environment with a server folder of its own, the server switched on, and this
    checkout's package from any folder: every command of the test is the installation
    the server serves (not another copy in site-packages)."""
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), **extra,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("EXPORTER_SERVER", None)
    return env


@pytest.fixture()
def served(runtime: Path) -> Iterator[dict[str, str]]:
    """An environment whose builds use a server of their own; the server is warm on entry."""
    env = _checkout_env(runtime, EXPORTER_SERVER_IDLE="120")
    started = _run(["server", "start"], env)
    assert started.returncode == 0, started.stderr
    status = _status(env)
    deadline = time.monotonic() + 60
    while status is None or status["spare"] != "ready":
        assert time.monotonic() < deadline, f"no spare got ready: {status}"
        time.sleep(0.1)
        status = _status(env)
    yield env
    # Stop every server of this folder: a build made while one was stopping may have
    # started another, which must not outlive the test.
    pids = {int(str(status["pid"]))}
    deadline = time.monotonic() + 30
    while (status := _status(env)) is not None or any(_alive(pid) for pid in pids):
        assert time.monotonic() < deadline, "the server did not stop"
        if status is not None:
            pids.add(int(str(status["pid"])))
            _run(["server", "stop"], env)
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_served_build_writes_the_same_bytes_as_a_build_in_one_process(
        served: dict[str, str], tmp_path: Path) -> None:
    here = _run(["build", SEED, "-o", tmp_path / "here", "--manifest"],
                {**served, "EXPORTER_SERVER": "off"})
    before = _status(served)
    # The first goes to the warm spare, the second (at once) to a new fork.
    there = _run(["build", SEED, "-o", tmp_path / "there", "--manifest"], served)
    again = _run(["build", SEED, "-o", tmp_path / "again", "--manifest"], served)
    after = _status(served)
    assert here.returncode == there.returncode == again.returncode == 0, there.stderr
    assert before is not None and after is not None
    assert after["served"] == int(str(before["served"])) + 2
    assert _digests(tmp_path / "there") == _digests(tmp_path / "here")
    assert _digests(tmp_path / "again") == _digests(tmp_path / "here")
    # The same messages, once each (a request built twice would print them twice).
    assert there.stderr == here.stderr.replace(b"/here/", b"/there/")
    assert again.stderr == here.stderr.replace(b"/here/", b"/again/")
    assert there.stderr.count(b"Wrote") == 4  # three editions and the manifest
    for edition in ("print", "archive"):
        args = ["build", SEED, "-f", "pdf", "--edition", edition]
        alone = _run([*args, "-o", tmp_path / f"{edition}-here"], {**served, "EXPORTER_SERVER": "off"})
        hosted = _run([*args, "-o", tmp_path / f"{edition}-there"], served)
        assert alone.returncode == hosted.returncode == 0, hosted.stderr
        assert _digests(tmp_path / f"{edition}-there") == _digests(tmp_path / f"{edition}-here")


def test_served_build_reports_errors_as_the_command_does(served: dict[str, str],
                                                         tmp_path: Path) -> None:
    missing = tmp_path / "missing.md"
    result = _run(["build", missing, "-o", tmp_path / "out"], served)
    assert result.returncode == 4
    assert result.stderr.decode().splitlines() == [f"Error: {missing}: no such file"]
    assert not (tmp_path / "out").exists()


def test_served_build_uses_the_callers_folder_streams_and_environment(
        served: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "exporter.toml").write_text('style = "modern"\n', encoding="utf-8")
    text = SEED.read_bytes()
    before = _status(served)
    piped = _run(["build", "-", "-o", "-", "-f", "html"], served, input=text, cwd=tmp_path)
    assert piped.returncode == 0, piped.stderr
    after = _status(served)
    assert before is not None and after is not None
    assert after["served"] == int(str(before["served"])) + 1  # built by the server
    by_file = _run(["build", SEED, "-o", "files", "-f", "html"],
                   {**served, "EXPORTER_SERVER": "off"}, cwd=tmp_path)
    assert by_file.returncode == 0, by_file.stderr
    assert piped.stdout == (tmp_path / "files" / "pokrovsk.html").read_bytes()
    assert b"modern" in piped.stdout  # the defaults file of the caller's folder applied


def _long_build_on_server(served: dict[str, str], tmp_path: Path, copies: int, out: Path,
                          streams: int) -> subprocess.Popen[bytes]:
    """Start building the seed with its sections *copies* times over; return once it is served."""
    long = tmp_path / "long.md"
    head, body = SEED.read_text(encoding="utf-8").split("\n## ", 1)
    long.write_text(head + ("\n## " + body) * copies, encoding="utf-8")
    process = subprocess.Popen([*EXPORTER, "build", str(long), "-o", str(out)], env=served,
                               stdout=streams, stderr=streams)
    deadline = time.monotonic() + 30
    while (_status(served) or {}).get("running") != 1:
        assert time.monotonic() < deadline, "the build never reached the server"
        time.sleep(0.05)
    return process


def test_interrupting_the_client_interrupts_the_build(served: dict[str, str],
                                                      tmp_path: Path) -> None:
    out = tmp_path / "out"
    process = _long_build_on_server(served, tmp_path, 60, out, subprocess.PIPE)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.decode().strip().splitlines()[-1].startswith("Error: interrupted")
    assert not out.exists() or not any(p.suffix in {".html", ".epub", ".pdf"} for p in out.iterdir())


def test_a_build_killed_outright_still_gives_its_command_a_status(served: dict[str, str],
                                                                  tmp_path: Path) -> None:
    """A build that dies without sending its status (SIGKILL) is reported as a shell would."""
    out = tmp_path / "out"
    process = _long_build_on_server(served, tmp_path, 60, out, subprocess.PIPE)
    server = int(str((_status(served) or {})["pid"]))
    # While a build runs the server has no spare: its one child is the build.
    children = Path(f"/proc/{server}/task/{server}/children").read_text().split()
    assert len(children) == 1
    os.kill(int(children[0]), signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGKILL
    assert not out.exists() or not any(p.suffix in {".html", ".epub", ".pdf"} for p in out.iterdir())


def test_a_build_whose_client_is_killed_is_stopped(served: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    process = _long_build_on_server(served, tmp_path, 60, out, subprocess.DEVNULL)
    process.kill()
    process.wait()
    deadline = time.monotonic() + 60
    while (_status(served) or {}).get("running") != 0:
        assert time.monotonic() < deadline, "the orphaned build kept running"
        time.sleep(0.05)
    assert not out.exists() or not any(p.suffix in {".html", ".epub", ".pdf"} for p in out.iterdir())


def test_first_build_starts_a_server_that_exits_when_idle(tmp_path: Path, runtime: Path) -> None:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "EXPORTER_SERVER_IDLE": "2"}
    env.pop("EXPORTER_SERVER")
    env.pop("CI", None)  # CI runners set it, and then no server starts (tested below)
    result = _run(["build", SEED, "-o", tmp_path / "out", "-f", "html"], env)
    assert result.returncode == 0, result.stderr
    deadline = time.monotonic() + 60
    while _status(env) is None:
        assert time.monotonic() < deadline, "no server started"
        time.sleep(0.1)
    while _status(env) is not None:
        assert time.monotonic() < deadline, "the idle server did not exit"
        time.sleep(0.2)
    assert not list((runtime / "exporter").glob("*.sock"))


def test_server_switched_off_is_neither_used_nor_started(tmp_path: Path, runtime: Path) -> None:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "EXPORTER_SERVER": "off"}
    result = _run(["build", SEED, "-o", tmp_path / "out", "-f", "html"], env)
    assert result.returncode == 0, result.stderr
    time.sleep(1)
    assert not (runtime / "exporter").exists() or not any((runtime / "exporter").iterdir())


def test_on_a_ci_runner_no_server_is_started(tmp_path: Path, runtime: Path) -> None:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "CI": "true"}
    env.pop("EXPORTER_SERVER")
    result = _run(["build", SEED, "-o", tmp_path / "out", "-f", "html"], env)
    assert result.returncode == 0, result.stderr
    time.sleep(1)
    assert _status(env) is None
    assert not list((runtime / "exporter").glob("*.sock"))


def test_a_folder_others_can_write_to_is_not_used(runtime: Path) -> None:
    (runtime / "exporter").mkdir()
    (runtime / "exporter").chmod(0o777)
    env = {"XDG_RUNTIME_DIR": str(runtime), "TMPDIR": str(runtime)}
    (runtime / f"exporter-{os.getuid()}").symlink_to(runtime / "exporter")
    assert launch.server_address(env) is None
    (runtime / "exporter").chmod(0o700)
    address = launch.server_address(env)
    assert address is not None and address.folder == str(runtime / "exporter")


def test_a_socket_path_too_long_falls_back_to_the_temporary_folder(runtime: Path) -> None:
    deep = runtime / ("d" * 90)
    deep.mkdir(mode=0o700)
    address = launch.server_address({"XDG_RUNTIME_DIR": str(deep), "TMPDIR": str(runtime)})
    assert address is not None and address.folder == str(runtime / f"exporter-{os.getuid()}")
    assert len(os.fsencode(address.socket)) < 108


def test_a_server_for_another_copy_of_the_package_does_not_start(tmp_path: Path) -> None:
    sock, lock = tmp_path / "s.sock", tmp_path / "s.lock"
    result = subprocess.run([sys.executable, "-m", "exporter.server", str(sock), str(lock),
                             "0" * 64, "5"], capture_output=True, timeout=60, check=False)
    assert result.returncode == 0 and not sock.exists()


_SLOW_EXIT_SERVER = """import os, sys, time
from exporter import launch, server

gate, real_exit = sys.argv[1], os._exit


def held_exit(code):
    # A forked build that is done stays alive until the test opens the gate.
    with open(gate + ".held", "w") as note:
        note.write(str(os.getpid()))
    deadline = time.monotonic() + 30
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.01)
    real_exit(code)


os._exit = held_exit
address = launch.server_address(os.environ)
sys.exit(server.main([address.socket, address.lock, address.fingerprint, "60"]))
"""


def test_the_command_hears_its_status_before_the_build_process_is_gone(
        runtime: Path, tmp_path: Path) -> None:
    """The build sends its status, then ends: the command does not wait for the ending."""
    gate = tmp_path / "gate"
    env = _checkout_env(runtime)
    script = tmp_path / "slow_exit_server.py"
    script.write_text(_SLOW_EXIT_SERVER, encoding="utf-8")
    host = subprocess.Popen([sys.executable, str(script), str(gate)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while (_status(env) or {}).get("spare") != "ready":
            assert host.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        result = _run(["build", SEED, "-o", tmp_path / "out", "-f", "html"], env)
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "out" / "pokrovsk.html").is_file()
        # The build that answered is still there, held at its very end.
        held = int(Path(f"{gate}.held").read_text())
        assert _alive(held) and not gate.exists()
        assert (_status(env) or {}).get("running") == 0
    finally:
        gate.touch()
        _run(["server", "stop"], env)
        host.wait(timeout=60)


def test_status_counts_the_builds_served(served: dict[str, str], tmp_path: Path) -> None:
    def status_line() -> str:
        result = _run(["server", "status"], served)
        assert result.returncode == 0, result.stderr
        return result.stdout.decode()

    assert "0 builds served, 0 running" in status_line()
    built = _run(["build", SEED, "-o", tmp_path / "out", "-f", "html"], served)
    assert built.returncode == 0, built.stderr
    assert "1 build served, 0 running" in status_line()


def test_only_build_commands_go_to_the_server() -> None:
    env = {"PATH": "/usr/bin"}
    assert launch.quick_start_possible(["build", "a.md"], env)
    assert not launch.quick_start_possible(["build", "a.md", "--watch"], env)
    assert not launch.quick_start_possible(["build", "--help"], env)
    assert not launch.quick_start_possible(["check", "a.epub"], env)
    assert not launch.quick_start_possible(["build"], {**env, "_EXPORTER_COMPLETE": "bash_complete"})
    assert launch.server_enabled(env)
    assert not launch.server_enabled({**env, "EXPORTER_SERVER": "off"})


def test_stopping_lets_running_builds_finish_and_sends_new_ones_elsewhere(
        served: dict[str, str], tmp_path: Path) -> None:
    process = _long_build_on_server(served, tmp_path, 30, tmp_path / "long", subprocess.PIPE)
    assert _run(["server", "stop"], served).returncode == 0
    # (CI set: the build would otherwise start a new server, warm only after the test ends.)
    meanwhile = _run(["build", SEED, "-o", tmp_path / "meanwhile", "-f", "html"],
                     {**served, "CI": "true"})
    assert meanwhile.returncode == 0, meanwhile.stderr
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert (tmp_path / "long" / "long.pdf").is_file()


def test_a_changed_bundled_stylesheet_gets_a_new_server(tmp_path: Path) -> None:
    from exporter.resources import styles_dir

    before = launch.fingerprint()
    sheet = styles_dir() / "base.css"
    status = sheet.stat()
    try:
        os.utime(sheet, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))
        assert launch.fingerprint() != before
    finally:
        os.utime(sheet, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert launch.fingerprint() == before


def test_an_idle_server_stops_at_once_on_sigterm(served: dict[str, str]) -> None:
    status = _status(served)
    assert status is not None
    os.kill(int(str(status["pid"])), signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _status(served) is not None:
        assert time.monotonic() < deadline, "SIGTERM did not stop the idle server"
        time.sleep(0.1)


def test_the_command_that_hands_a_build_over_imports_only_what_starts_quickly() -> None:
    # Without site (-S), nothing else has imported them: each costs the command 1 to 15 ms.
    slow = ("typing", "contextlib", "socket", "signal", "json", "hashlib", "re", "enum", "click")
    code = ("import sys\nimport exporter.launch, exporter.memo, exporter.client, exporter.wire\n"
            f"print(sorted(m for m in {slow!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                            check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.stdout.strip() == "[]"
