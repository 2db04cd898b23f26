"""WSGI entry point: ``gunicorn dashboards.wsgi:server``.

The snapshot directory comes from ``FINSCOPE_HOME`` (see ``warehouse.paths.DataHome``).
"""

from dashboards.app import create_app

app = create_app()
server = app.server
