"""The WSGI application object for any server: ``cds_service.wsgi:app``."""

from cds_service import create_app

app = create_app()
