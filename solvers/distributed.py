"""Many independent solves on dask.distributed, or one after another in this process.

Sweeps, shortlists and the national run are embarrassingly parallel: many problems, each
solved on its own. :func:`dask_client` opens a client, either on a new
:class:`~distributed.LocalCluster` of worker *processes* (one thread each, so that every
solve has a core; no dashboard) or on an existing scheduler, and closes everything it
opened. :func:`map_tasks` runs a function over items on that client, or serially in this
process when there is none. Results come back in input order and every task is a pure
function of its inputs, so a distributed run writes the same tables as a serial one.

Workers of an existing cluster must be able to import this project (install it on them
with ``pip install``); a LocalCluster's workers use this interpreter.

An existing scheduler's address is checked before any work starts
(:func:`check_scheduler_address`): its scheme must be one the installed Dask connects with
(:func:`dask_schemes`: ``tcp``, ``tls``, ``ws``, ``wss``, ``inproc``, ``ucx`` and any comm
plugin), with a host and a port. ``tls://`` (and ``wss://``) addresses connect with Dask's
own security settings (:func:`scheduler_security`): the certificate files named in Dask's
configuration, ``distributed.comm.tls.ca-file``, ``distributed.comm.tls.client.cert`` and
``distributed.comm.tls.client.key`` (a YAML file in ``~/.config/dask/``, or the variables
``DASK_DISTRIBUTED__COMM__TLS__CA_FILE``, ``..._CLIENT__CERT``, ``..._CLIENT__KEY``).

>>> with dask_client(workers=2) as client:                                     # doctest: +SKIP
...     records = map_tasks(solve_and_check, problems, client=client,
...                         shared={"options": SolveOptions()})
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from geodata.errors import SchedulerAddressError, SchedulerError
from geodata.settings import MAX_PARALLEL, is_count, usable_cores

__all__ = [
    "SchedulerError",
    "SchedulerAddressError",
    "default_workers",
    "dask_schemes",
    "check_scheduler_address",
    "scheduler_security",
    "dask_client",
    "map_tasks",
    "cluster_description",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: Seconds to wait for an existing scheduler to answer.
CONNECT_TIMEOUT_S = 20.0
#: Keyword arguments of ``Client.submit`` that a shared argument may not be named after.
_SUBMIT_ARGUMENTS = frozenset(
    {
        "key",
        "workers",
        "resources",
        "retries",
        "priority",
        "fifo_timeout",
        "allow_other_workers",
        "actor",
        "actors",
        "pure",
    }
)


#: Entry-point group of Dask's comm plugins (third-party address schemes).
_COMM_PLUGINS = "distributed.comm.backends"
#: Schemes whose connections Dask encrypts with its TLS settings.
_TLS_SCHEMES = frozenset({"tls", "wss"})
#: Dask configuration keys of the certificates a client presents (``key``: optional, the
#: key may follow the certificate in its file).
_TLS_SETTINGS = (
    ("tls_ca_file", "distributed.comm.tls.ca-file", True),
    ("tls_client_cert", "distributed.comm.tls.client.cert", True),
    ("tls_client_key", "distributed.comm.tls.client.key", False),
)


def default_workers() -> int:
    """Worker processes for a LocalCluster: the cores this process may use (:func:`geodata.settings.usable_cores`)."""
    return usable_cores()


def dask_schemes() -> tuple[str, ...]:
    """Address schemes the installed Dask connects with, sorted.

    Read from Dask's comm registry (``distributed.comm.registry.backends``: ``tcp``,
    ``tls``, ``inproc``, ``ws``, ``wss``, ``ucx``) and its comm plugins (entry points
    ``distributed.comm.backends``), not from a list kept here.
    """
    import distributed.comm  # noqa: F401 - importing it registers the built-in schemes
    from distributed.comm.registry import backends

    plugins = {entry.name for entry in importlib.metadata.entry_points(group=_COMM_PLUGINS)}
    return tuple(sorted(set(backends) | plugins))


def check_scheduler_address(address: str, *, option: str = "--scheduler") -> str:
    """Check a scheduler address before any work starts; return its scheme.

    Parameters
    ----------
    address
        ``scheme://host:port``; without a scheme, Dask's default
        (``distributed.comm.default-scheme``, ``tcp``).
    option
        How the user gave the address (named in the error).

    Returns
    -------
    str
        The scheme (``tcp``, ``tls``, ...).

    Raises
    ------
    SchedulerAddressError
        Naming ``option`` and the address: unknown scheme (the known ones listed), or no
        host or port.
    """
    import dask
    from distributed.comm.registry import get_backend  # importing distributed loads its config defaults

    if not isinstance(address, str) or not address.strip():
        raise SchedulerAddressError(f"{option} {address!r}: give a scheduler address such as tcp://host:8786")
    known = dask_schemes()
    scheme, sep, location = address.strip().rpartition("://")
    if not sep:
        scheme = dask.config.get("distributed.comm.default-scheme")
    if scheme not in known:
        raise SchedulerAddressError(
            f"{option} {address!r}: unknown address scheme {scheme!r}; Dask connects with "
            f"{', '.join(f'{s}://' for s in known)} (e.g. tcp://host:8786, or tls://host:8786 with "
            "certificates in Dask's configuration)"
        )
    try:
        host, port = get_backend(scheme).get_address_host_port(location)
    except NotImplementedError:  # not a host:port scheme (inproc)
        return scheme
    except (ValueError, TypeError) as exc:
        raise SchedulerAddressError(f"{option} {address!r}: not a {scheme}://host:port address ({exc})") from None
    if not host or not port:
        raise SchedulerAddressError(f"{option} {address!r}: not a {scheme}://host:port address (no host or port)")
    return scheme


def scheduler_security(address: str, *, option: str = "--scheduler") -> Any:
    """Dask's security settings for connecting to ``address`` (``None``: not encrypted).

    For a ``tls://`` or ``wss://`` address: a :class:`distributed.Security` read from
    Dask's configuration (``distributed.comm.tls.ca-file``, ``...client.cert``,
    ``...client.key``, ``...ciphers``, ``...min-version``; see the module notes), after
    checking that the certificate files it names exist.

    Raises
    ------
    SchedulerAddressError
        The address is unusable (:func:`check_scheduler_address`), or TLS is asked for but
        a certificate is not set or its file does not exist (the setting is named).
    """
    scheme = check_scheduler_address(address, option=option)
    if scheme not in _TLS_SCHEMES:
        return None
    from distributed import Security

    security = Security()
    missing = [key for attr, key, required in _TLS_SETTINGS if required and not getattr(security, attr)]
    if missing:
        variables = ", ".join("DASK_" + k.upper().replace(".", "__").replace("-", "_") for _, k, _ in _TLS_SETTINGS)
        raise SchedulerAddressError(
            f"{option} {address!r} uses TLS, but Dask's configuration does not set {' and '.join(missing)}: "
            f"name the cluster's CA certificate and this client's certificate and key in a YAML file in "
            f"~/.config/dask/ or with the environment variables {variables}"
        )
    for attr, key, _ in _TLS_SETTINGS:
        value = getattr(security, attr)
        if value and "\n" not in value and not Path(value).expanduser().is_file():  # a PEM text needs no file
            raise SchedulerAddressError(f"{option} {address!r} uses TLS: {key} names {value!r}, which is not a file")
    return security


@contextlib.contextmanager
def dask_client(
    *, scheduler: str | None = None, workers: int | None = None, timeout: float = CONNECT_TIMEOUT_S
) -> Iterator[Any]:
    """A :class:`distributed.Client`, closed (with any cluster it started) on exit.

    Parameters
    ----------
    scheduler
        Address of an existing scheduler (``tcp://host:8786``; ``tls://host:8786`` with
        Dask's TLS settings, see :func:`scheduler_security`). ``None`` starts a
        LocalCluster: ``workers`` processes, one thread each, dashboard off.
    workers
        Worker processes of the LocalCluster (default: :func:`default_workers`). Ignored
        with ``scheduler`` (the cluster has its own workers).
    timeout
        Seconds to wait for an existing scheduler to answer.

    Yields
    ------
    distributed.Client

    Raises
    ------
    SchedulerAddressError
        If ``scheduler`` is not an address Dask can use (checked before connecting).
    SchedulerError
        If the scheduler does not answer or the cluster cannot start.
    ValueError
        If ``workers`` is not a whole number from 1 to :data:`geodata.settings.MAX_PARALLEL`.
    """
    from distributed import Client, LocalCluster

    if workers is not None and not is_count(workers, MAX_PARALLEL):
        raise ValueError(f"workers must be a whole number from 1 to {MAX_PARALLEL:,}, got {workers!r}")
    if scheduler is not None:
        security = scheduler_security(scheduler)
        if workers is not None:
            logger.info("--workers is ignored with an existing scheduler (%s)", scheduler)
        try:
            client = Client(scheduler, timeout=timeout, security=security)
        except (OSError, TimeoutError) as exc:
            raise SchedulerError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from exc
        try:
            logger.info("connected to %s", cluster_description(client))
            yield client
        finally:
            client.close()
        return
    n = workers or default_workers()
    try:
        # Dashboard off. The scheduler still serves a small HTTP endpoint (health checks): on
        # a free local port, not on 8787, which another cluster may hold.
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            preload=["solvers._dask_worker"],
        )  # workers leave Ctrl-C to this process
    except KeyboardInterrupt:
        _quieten_cluster()
        raise
    except (OSError, RuntimeError) as exc:
        raise SchedulerError(f"cannot start a local Dask cluster of {n} worker(s): {exc}") from exc
    try:
        client = Client(cluster)
        try:
            logger.info("started %s", cluster_description(client))
            yield client
        except KeyboardInterrupt:
            _quieten_cluster()
            raise
        finally:
            client.close()
    finally:
        cluster.close()


#: Loggers of the cluster's libraries, silenced after Ctrl-C with every logger below them.
_CLUSTER_LOGGERS = ("distributed", "asyncio", "tornado")


def _quieten_cluster() -> None:
    """After Ctrl-C: the cluster's complaints (tracebacks) about work cut short are not the user's concern.

    Every logger under the cluster's libraries, not only their top ones: distributed's
    logging configuration gives some of their children a level and a handler of their own
    (``tornado.application``, which logs a failed callback's traceback; ``distributed.client``),
    and a child's own level is not raised by its parent's.
    """
    prefixes = tuple(f"{name}." for name in _CLUSTER_LOGGERS)
    names = [name for name in logging.Logger.manager.loggerDict if name.startswith(prefixes)]
    for name in (*_CLUSTER_LOGGERS, *names):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def cluster_description(client: Any) -> str:
    """``Dask cluster at tcp://...: 2 worker(s), 2 thread(s)``."""
    info = client.scheduler_info()
    workers = info.get("workers", {})
    threads = sum(int(w.get("nthreads", 0)) for w in workers.values())
    return f"Dask cluster at {info.get('address', '?')}: {len(workers)} worker(s), {threads} thread(s)"


def map_tasks(
    func: Callable[..., R],
    items: Iterable[T],
    *,
    client: Any = None,
    shared: Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    name: str = "task",
) -> list[R]:
    """``[func(item, **shared) for item in items]``, on a Dask client or serially.

    Parameters
    ----------
    func
        A module-level function (workers import it by name).
    items
        The first argument of each call.
    client
        A :class:`distributed.Client`, or ``None`` to run in this process, in order.
    shared
        Keyword arguments common to every call (e.g. the problem). On a cluster they are
        sent to every worker once (``scatter(broadcast=True)``), not once per task.
    progress
        Called as ``progress(done, total)`` after each task finishes (in completion order).
    name
        Prefix of the task keys (shown in Dask's logs).

    Returns
    -------
    list
        The results in the order of ``items``.

    Raises
    ------
    Exception
        The first error raised by a task; the tasks still pending are cancelled.
    """
    items = list(items)
    kwargs = dict(shared or {})
    clash = sorted(set(kwargs) & _SUBMIT_ARGUMENTS)
    if clash:
        raise ValueError(f"shared argument name(s) {', '.join(clash)} clash with Client.submit's own arguments")
    total = len(items)
    if client is None:
        results: list[Any] = []
        for done, item in enumerate(items, start=1):
            results.append(func(item, **kwargs))
            if progress is not None:
                progress(done, total)
        return results
    from distributed import as_completed

    if total == 0:
        return []
    # one future per argument (scatter splits a bare list or dict into one future per element)
    scattered = {key: client.scatter([value], broadcast=True, hash=False)[0] for key, value in kwargs.items()}
    token = uuid.uuid4().hex[:8]
    futures = [client.submit(func, item, key=f"{name}-{token}-{k}", **scattered) for k, item in enumerate(items)]
    position = {f.key: k for k, f in enumerate(futures)}
    results = [None] * total
    try:
        for done, future in enumerate(as_completed(futures), start=1):
            results[position[future.key]] = future.result()
            if progress is not None:
                progress(done, total)
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        for future in scattered.values():
            future.release()
    return results
