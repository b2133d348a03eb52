"""The ``townhall`` command: every sub-command is registered here."""

from __future__ import annotations

import typer

from townhall.cli import audit as audit_cmd
from townhall.cli import backup as backup_cmd
from townhall.cli import calendar as calendar_cmd
from townhall.cli import campaigns as campaigns_cmd
from townhall.cli import channels as channels_cmd
from townhall.cli import classify as classify_cmd
from townhall.cli import conduct as conduct_cmd
from townhall.cli import db as db_cmd
from townhall.cli import dead_letters as dead_cmd
from townhall.cli import evaluate as eval_cmd
from townhall.cli import ingest as ingest_cmd
from townhall.cli import insights as insights_cmd
from townhall.cli import listen as listen_cmd
from townhall.cli import model as model_cmd
from townhall.cli import objectives as objectives_cmd
from townhall.cli import plans as plans_cmd
from townhall.cli import policy as policy_cmd
from townhall.cli import publish as publish_cmd
from townhall.cli import radar as radar_cmd
from townhall.cli import rollups as rollups_cmd
from townhall.cli import route as route_cmd
from townhall.cli import secrets as secrets_cmd
from townhall.cli import serve as serve_cmd
from townhall.cli import simulate as simulate_cmd
from townhall.cli import tokens as tokens_cmd
from townhall.cli import users as users_cmd
from townhall.cli import webhooks as webhooks_cmd
from townhall.cli import worker as worker_cmd

app = typer.Typer(
    name="townhall",
    help="Townhall: the social media command center where every department takes part.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(
    policy_cmd.app, name="policy", help="Check, show and simulate the organisation policy."
)
app.add_typer(db_cmd.app, name="db", help="Create or upgrade the database schema.")
app.add_typer(users_cmd.app, name="users", help="Create and list logins.")
app.add_typer(model_cmd.app, name="model", help="Build the models Townhall understands posts with.")
app.add_typer(eval_cmd.app, name="eval", help="Measure how well Townhall understands posts.")
app.add_typer(
    radar_cmd.app, name="radar", help="Crisis radar: spread forecasts and alerts, offline."
)
app.add_typer(
    channels_cmd.app, name="channels", help="Channel health, checks and stored credentials."
)
app.add_typer(conduct_cmd.app, name="conduct", help="Check a draft against the code of conduct.")
app.add_typer(publish_cmd.app, name="publish", help="Drafts, approvals and the outbox publisher.")
app.add_typer(
    dead_cmd.app, name="dead-letters", help="Posts that failed inside the pipeline; replay them."
)
app.add_typer(calendar_cmd.app, name="calendar", help="The calendar: feeds and recurring slots.")
app.add_typer(campaigns_cmd.app, name="campaigns", help="Campaigns: posts, budget and spend.")
app.add_typer(
    plans_cmd.app,
    name="plans",
    help="PR communication plans, and the e-mail and search teams' planned entries.",
)
app.add_typer(
    objectives_cmd.app, name="objectives", help="Goals, objectives and key results; readings."
)
app.add_typer(audit_cmd.app, name="audit", help="Verify that the audit log was not changed.")
app.add_typer(secrets_cmd.app, name="secrets", help="Secrets stored encrypted: rotate the key.")
app.add_typer(tokens_cmd.app, name="tokens", help="Personal access tokens for the public API.")
app.add_typer(webhooks_cmd.app, name="webhooks", help="Outgoing webhooks: deliveries and replay.")
app.add_typer(rollups_cmd.app, name="insights", help="Keep the insights dashboards' rollups.")
app.command("backup")(backup_cmd.backup)
app.command("restore")(backup_cmd.restore)
app.command("ingest")(ingest_cmd.ingest)
app.command("listen")(listen_cmd.listen)
app.command("worker")(worker_cmd.worker)
app.command("classify")(classify_cmd.classify)
app.command("route")(route_cmd.route)
app.command("simulate")(simulate_cmd.simulate)
app.command("demo")(serve_cmd.demo)
app.command("serve")(serve_cmd.serve)
app.command("digest")(insights_cmd.digest)
app.command("agenda")(insights_cmd.agenda)


def main() -> None:
    """Entry point of the ``townhall`` script."""
    from townhall.cli.common import fail_config
    from townhall.errors import ConfigError

    try:
        app()
    except ConfigError as exc:  # e.g. a weak TOWNHALL_SECRET_KEY, read by get_settings()
        raise SystemExit(fail_config(exc).exit_code) from None
