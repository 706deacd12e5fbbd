"""The web app's `giftcert` subcommands, registered through the entry-point group
`giftcert.commands` (pyproject.toml), so the SDK's command never imports the web app."""

from __future__ import annotations

import click

from giftcert.cli import friendly, settings_from


@click.command("serve")
@click.pass_context
@friendly
def serve(ctx: click.Context) -> None:
    """Serve the web app with waitress, one process (GIFTCERT_WEB_HOST, GIFTCERT_WEB_PORT).

    As `make run` serves: the index is followed in this process unless GIFTCERT_INDEXER=service.
    Several processes: gunicorn -w 4 'webapp:create_app()' (README, Production)."""
    settings = settings_from(ctx)
    from waitress import serve as waitress_serve

    from webapp import create_app

    app = create_app(settings)
    click.echo(f"serving on {settings.web_url} (indexer: {settings.indexer_mode}; sign-in for "
               f"{settings.origin})")
    waitress_serve(app, host=settings.web_host, port=settings.web_port)
