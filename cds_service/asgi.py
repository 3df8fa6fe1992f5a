"""The ASGI application object (``cds_service.asgi:app``): the WSGI app, each request buffered."""

from cds_service.buffered_asgi import build
from cds_service.wsgi import app as wsgi_app

app = build(wsgi_app)
