"""Imported by every Dask worker process of a local cluster as it starts (``preload``).

A terminal's Ctrl-C reaches every process of the group: a worker that took it would die
with a traceback of its own while the main process shuts the cluster down. Workers ignore
it; the main process stops them.
"""

from __future__ import annotations

import signal
import threading

if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
