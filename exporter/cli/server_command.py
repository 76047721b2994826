"""``exporter server``: look at, start and stop the warm build server (see :mod:`exporter.server`)."""

from __future__ import annotations

import time

import click

from .. import client, launch
from . import Reporting, UsageProblem, cli

#: How long ``exporter server start`` waits for the server to finish warming up, in seconds.
START_WAIT = 60.0


@cli.group("server")
def server_group() -> None:
    """The build server that makes 'exporter build' start warm.

    The first build starts it in the background; later builds hand their work to it
    and get the same files, messages and exit status faster. It listens on a private
    socket, serves only you, and exits after 10 idle minutes (EXPORTER_SERVER_IDLE,
    in seconds). EXPORTER_SERVER=off builds without it.
    """


def _address() -> launch.Address:
    address = launch.server_address()
    if address is None:
        raise UsageProblem("no private folder for the server's socket "
                           "(check XDG_RUNTIME_DIR or TMPDIR)")
    return address


@server_group.command("status")
def status_command() -> None:
    """Say whether a server is running for this installation, and what it has done."""
    with Reporting():
        address = _address()
        reply = client.ask_server(address, "status")
        if reply is None:
            click.echo(f"No server is running (it would listen on {address.socket}).")
            return
        served = int(str(reply["served"]))
        click.echo(f"Server {reply['pid']} listening on {address.socket}: "
                   f"{served} build{'' if served == 1 else 's'} served, {reply['running']} running, "
                   f"spare process {reply.get('spare', 'none')}, "
                   f"exits after {float(str(reply['idle_seconds'])):g} s idle.")


@server_group.command("start")
def start_command() -> None:
    """Start the server now and wait until it is warm (builds start it anyway)."""
    with Reporting():
        address = _address()
        if client.ask_server(address, "status") is None:
            launch.start_server(address)
            deadline = time.monotonic() + START_WAIT
            while client.ask_server(address, "status") is None:
                if time.monotonic() > deadline:
                    raise UsageProblem(f"the server did not start within {START_WAIT:g} s")
                time.sleep(0.05)
        click.echo(f"Server ready on {address.socket}.")


@server_group.command("stop")
def stop_command() -> None:
    """Stop the server once its running builds have finished."""
    with Reporting():
        address = _address()
        reply = client.ask_server(address, "stop")
        click.echo("Server stopping." if reply is not None else "No server was running.")
