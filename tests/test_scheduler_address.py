"""``--scheduler``: unknown schemes and malformed addresses stop at once; ``tls://`` uses Dask's TLS settings.

The TLS test starts a real scheduler that accepts TLS connections only, with a certificate
made here by ``openssl``, and connects through :func:`solvers.distributed.dask_client`
with nothing but Dask's configuration (``distributed.comm.tls.*``) naming the files.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import dask
import distributed  # noqa: F401 - its configuration defaults load before the tests change settings
import pytest

import optimise
from solvers import batch
from solvers.distributed import (
    SchedulerAddressError,
    SchedulerError,
    check_scheduler_address,
    dask_client,
    dask_schemes,
    map_tasks,
    scheduler_security,
)

TLS_KEYS = ("distributed.comm.tls.ca-file", "distributed.comm.tls.client.cert", "distributed.comm.tls.client.key")


@pytest.fixture(autouse=True)
def _no_tls_settings():
    """No TLS settings from the user's own Dask configuration."""
    with dask.config.set({key: None for key in TLS_KEYS}):
        yield


def test_schemes_come_from_dask_registry(monkeypatch):
    from distributed.comm import registry

    assert {"tcp", "tls", "inproc", "ws", "wss"} <= set(dask_schemes())
    monkeypatch.setitem(registry.backends, "myplugin", registry.backends["tcp"])
    assert "myplugin" in dask_schemes()
    assert check_scheduler_address("myplugin://host:8786") == "myplugin"


@pytest.mark.parametrize(
    "address, scheme",
    [
        ("tcp://10.0.0.5:8786", "tcp"),
        ("scheduler.local:8786", "tcp"),
        ("tls://[::1]:8786", "tls"),
        ("ws://host:8786", "ws"),
    ],
)
def test_good_addresses(address, scheme):
    assert check_scheduler_address(address) == scheme


@pytest.mark.parametrize(
    "address, words",
    [
        ("ftp://host:8786", "unknown address scheme 'ftp'"),
        ("http://host:8787", "unknown address scheme 'http'"),
        ("tcp://host", "missing port"),
        ("tcp://host:port", "not a tcp://host:port address"),
        ("tcp://:8786", "no host or port"),
        ("", "give a scheduler address"),
    ],
)
def test_bad_addresses_name_the_option_and_value(address, words):
    with pytest.raises(SchedulerAddressError, match="--scheduler") as error:
        check_scheduler_address(address)
    message = str(error.value)
    assert repr(address) in message and words in message
    if "scheme" in words:
        assert "tcp://" in message and "tls://" in message  # the schemes Dask knows are listed
    with pytest.raises(SchedulerAddressError):  # the client refuses it before connecting
        with dask_client(scheduler=address, timeout=1):
            pass


def test_tls_without_certificates_names_the_settings(tmp_path):
    with pytest.raises(SchedulerAddressError) as error:
        scheduler_security("tls://127.0.0.1:8786")
    message = str(error.value)
    assert "--scheduler 'tls://127.0.0.1:8786'" in message
    assert "distributed.comm.tls.ca-file" in message and "distributed.comm.tls.client.cert" in message
    assert "DASK_DISTRIBUTED__COMM__TLS__CA_FILE" in message
    missing = tmp_path / "no-such-ca.pem"
    with dask.config.set({TLS_KEYS[0]: str(missing), TLS_KEYS[1]: str(missing)}):
        with pytest.raises(SchedulerAddressError, match="distributed.comm.tls.ca-file names .*not a file"):
            scheduler_security("tls://127.0.0.1:8786")
    assert scheduler_security("tcp://127.0.0.1:8786") is None  # TLS settings only for TLS addresses


@pytest.mark.parametrize("command", [["shortlist", "demo"], ["sweep", "no-such-sweep.toml"], ["national"]])
@pytest.mark.parametrize(
    "address, words",
    [("ftp://host:8786", "unknown address scheme 'ftp'"), ("tls://host:8786", "distributed.comm.tls.ca-file")],
)
def test_command_stops_before_any_work(command, address, words, tmp_path, monkeypatch, capsys):
    def no_solve(*args, **kwargs):
        raise AssertionError("solved before the scheduler address was checked")

    monkeypatch.setattr(batch, "solve_and_check", no_solve)
    out = tmp_path / "out"
    code = optimise.main([*command, "--scheduler", address, "--out", str(out), "--quiet"])
    assert code == optimise.EXIT_INPUT == 2
    err = capsys.readouterr().err
    assert f"--scheduler {address!r}" in err and words in err and "Traceback" not in err
    assert not out.exists()


# ---------------------------------------------------------------------------- a real TLS scheduler
def _certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate (its own CA) and key, by openssl."""
    cert, key = folder / f"{name}.pem", folder / f"{name}-key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={name}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory):
    """A scheduler and one worker that speak TLS only (in this process), and the certificate files."""
    if shutil.which("openssl") is None:
        pytest.skip("the TLS test makes its certificate with the openssl command")
    from distributed import LocalCluster, Security

    folder = tmp_path_factory.mktemp("tls")
    cert, key = _certificate(folder, "cluster")
    security = Security(
        tls_ca_file=str(cert),
        tls_scheduler_cert=str(cert),
        tls_scheduler_key=str(key),
        tls_worker_cert=str(cert),
        tls_worker_key=str(key),
        tls_client_cert=str(cert),
        tls_client_key=str(key),
        require_encryption=True,
    )
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tls",
        security=security,
        dashboard_address=None,
        # the scheduler's HTTP endpoint on a free port: 8787 may be held by another cluster
        # (a second test run on the machine), and its warning is an error here
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as cluster:
        yield cluster, folder, cert, key


def test_tls_address_connects_with_dask_tls_settings(tls_cluster):
    cluster, _, cert, key = tls_cluster
    address = cluster.scheduler_address
    assert address.startswith("tls://")
    with dask.config.set({TLS_KEYS[0]: str(cert), TLS_KEYS[1]: str(cert), TLS_KEYS[2]: str(key)}):
        with dask_client(scheduler=address, timeout=20) as client:
            assert client.scheduler_info()["address"] == address
            assert map_tasks(math.factorial, [3, 4, 5], client=client) == [6, 24, 120]


def test_tls_with_a_certificate_the_cluster_does_not_trust(tls_cluster):
    cluster, folder, _, _ = tls_cluster
    stranger, stranger_key = _certificate(folder, "stranger")
    with dask.config.set({TLS_KEYS[0]: str(stranger), TLS_KEYS[1]: str(stranger), TLS_KEYS[2]: str(stranger_key)}):
        with pytest.raises(SchedulerError, match="cannot reach the Dask scheduler"):
            with dask_client(scheduler=cluster.scheduler_address, timeout=3):
                pass


def test_plain_tcp_to_a_tls_scheduler_is_refused(tls_cluster):
    cluster, _, _, _ = tls_cluster
    plain = cluster.scheduler_address.replace("tls://", "tcp://", 1)
    with pytest.raises(SchedulerError, match="cannot reach the Dask scheduler"):
        with dask_client(scheduler=plain, timeout=3):
            pass


def test_shortlist_command_over_tls(tls_cluster, tmp_path, monkeypatch):
    """End to end: the command reaches the TLS scheduler with the settings in the environment."""
    cluster, _, cert, key = tls_cluster
    for setting, path in zip(TLS_KEYS, (cert, cert, key), strict=True):
        monkeypatch.setenv("DASK_" + setting.upper().replace(".", "__").replace("-", "_"), str(path))
    dask.config.refresh()  # read the environment as a new process would
    try:
        out = tmp_path / "out"
        code = optimise.main(
            ["shortlist", "demo", "--scheduler", cluster.scheduler_address, "--out", str(out), "--quiet"]
        )
    finally:
        monkeypatch.undo()
        dask.config.refresh()
    assert code == optimise.EXIT_OK
    assert (out / "shortlist.csv").is_file() and (out / "shortlist.html").is_file()
    assert '"dask": "tls://' in (out / "shortlist.json").read_text()
