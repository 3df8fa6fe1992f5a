"""Gunicorn settings shared by every benchmarked app (so no stray gunicorn.conf.py is read).

The benchmark adds ``--bind`` and ``--worker-class`` (and ``--threads``) on the command line.
"""

workers = 2
keepalive = 5  # used by gthread; the sync worker closes the connection after every response
accesslog = None
errorlog = "-"
loglevel = "warning"
preload_app = False
timeout = 30
