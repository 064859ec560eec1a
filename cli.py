"""Operator commands: organisations and notices to many groups.

flask --app app org create --slug SLUG --name NAME [--kind KIND]
flask --app app org add-group --org SLUG --group LINE_GROUP_ID
flask --app app org list [--org SLUG]
flask --app app notice send --org SLUG [--area CODE ...] --text "..." [--force] [--yes]
flask --app app operator create --org SLUG --email EMAIL [--role admin|staff] [--name NAME] [--link [--url URL]]
flask --app app operator list --org SLUG
flask --app app console refresh-stats [--org SLUG]
flask --app app usage

``usage`` shows the month's LINE messages (used, the limit, what is left)
and what the next day of 見守り may need, with the last warning when
messages ran short (escalations go first: services/watch_budget.py).

``notice send`` prints the groups and the cost first and refuses a send
the month's remaining quota cannot pay for (unless --force); the same notice
(organisation, areas, text, month) is never written twice, so running it
again only finishes what an earlier run left.  Exit status: 0 when every
group got it, 1 when some failed for good or the send was refused, 130 when
interrupted (the scheduler sends the rest).
"""

from __future__ import annotations

import re
import sys

import click
from flask.cli import AppGroup, with_appcontext

from domain.areas import area_by_code
from domain.kinds import WatchState
from jobs import runtime
from jobs.notice_sender import send_notice, sender_client
from models import Group, Organisation, Watch, connected, naive
from services import clock, watch_budget
from services.notices import NoticeError, plan_notice, write_notice
from services.usage import remaining_quota

KINDS = ("municipality", "council", "association")  # 市区町村, 社会福祉協議会, 自治会連合会
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")

org_cli = AppGroup("org", help="Organisations that groups belong to.")
operator_cli = AppGroup("operator", help="People who use the web console for an organisation.")
console_cli = AppGroup("console", help="The operator console's background work.")
notice_cli = AppGroup("notice", help="Notices to all the groups of an organisation.")


def _settings():
    """The settings of the app ``flask --app app`` built, with this process's
    job handles (LINE client, Redis) bound to them: a command must act on
    the app's database, not on whatever the environment names."""
    from flask import current_app

    settings = current_app.extensions["tsunagari.settings"]
    runtime.ensure_configured(settings)
    return settings


@org_cli.command("create")
@click.option("--slug", required=True, help="Short name used on the command line, e.g. midori-shakyo.")
@click.option("--name", required=True, help="The name members see, e.g. みどり市社会福祉協議会.")
@click.option("--kind", type=click.Choice(KINDS), default="association", show_default=True)
def org_create(slug: str, name: str, kind: str) -> None:
    """Create an organisation."""
    if not _SLUG.match(slug):
        raise click.BadParameter("lower-case letters, digits and hyphens", param_hint="--slug")
    with connected():
        if Organisation.get_or_none(Organisation.slug == slug):
            raise click.ClickException(f"an organisation with slug {slug!r} already exists")
        Organisation.create(slug=slug, name=name.strip(), kind=kind, created_at=naive(clock.now()))
    click.echo(f"created {slug} ({name}, {kind})")


@org_cli.command("add-group")
@click.option("--org", "slug", required=True)
@click.option("--group", "line_group_id", required=True, help="The LINE group ID (C...).")
def org_add_group(slug: str, line_group_id: str) -> None:
    """Put a group (one the bot is in) into an organisation."""
    with connected():
        org = _org(slug)
        group = Group.get_or_none(Group.line_group_id == line_group_id)
        if group is None:
            raise click.ClickException(f"no group {line_group_id}: the bot has to be invited to it first")
        if group.organisation_id == org.id:
            click.echo(f"{line_group_id} is already in {slug}")
            return
        moved = group.organisation.slug if group.organisation_id else None
        Group.update(organisation=org).where(Group.id == group.id).execute()
    click.echo(f"added {line_group_id} to {slug}" + (f" (moved from {moved})" if moved else ""))


@org_cli.command("list")
@click.option("--org", "slug", default=None, help="List this organisation's groups.")
def org_list(slug: str | None) -> None:
    """List organisations, or one organisation's groups."""
    with connected():
        if slug is None:
            for org in Organisation.select().order_by(Organisation.slug):
                groups = Group.select().where((Group.organisation == org) & Group.active).count()
                click.echo(f"{org.slug}\t{org.kind}\t{groups} group(s)\t{org.name}")
            return
        org = _org(slug)
        for group in Group.select().where(Group.organisation == org).order_by(Group.id):
            area = area_by_code(group.area_code) if group.area_code else None
            click.echo(
                f"{group.line_group_id}\t{'active' if group.active else 'left'}\t"
                f"{group.member_count if group.member_count is not None else '?'} member(s)\t"
                f"{area.name if area else '-'}"
            )


def _org(slug: str) -> Organisation:
    org = Organisation.get_or_none(Organisation.slug == slug)
    if org is None:
        raise click.ClickException(f"no organisation {slug!r} (see: flask --app app org list)")
    return org


@notice_cli.command("send")
@click.option("--org", "slug", required=True, help="The organisation whose groups get the notice.")
@click.option("--area", "areas", multiple=True, help="Only groups in this 7-digit area code (repeatable).")
@click.option("--text", required=True, help="The notice, as members will read it.")
@click.option("--force", is_flag=True, help="Send even if it exceeds the month's remaining quota.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--rate", type=float, default=None, help="Requests per second (default NOTICE_RATE_LIMIT).")
@click.option("--workers", type=click.IntRange(1, 64), default=8, show_default=True)
def notice_send(
    slug: str, areas: tuple[str, ...], text: str, force: bool, yes: bool, rate: float | None, workers: int
) -> None:
    """Send a notice to every active group of an organisation."""
    settings = _settings()
    for code in areas:
        if area_by_code(code) is None:
            raise click.BadParameter(f"{code!r} is not a JMA area code (e.g. 1421200)", param_hint="--area")
    now = clock.now()
    with connected():
        try:
            plan = plan_notice(slug, areas, text, now, settings.tz)
        except NoticeError as exc:
            raise click.ClickException(str(exc)) from None
        where = ", ".join(f"{c} {area_by_code(c).name}" for c in plan.areas) or "all areas"
        click.echo(f"notice from {plan.org_name} to {plan.groups} group(s) ({where})")
        if plan.already_sent:
            click.echo(f"already sent: {plan.already_sent} group(s) got this notice this month")
        if plan.unfinished:
            click.echo(
                f"unfinished: {plan.unfinished} group(s) from an earlier run will be sent now "
                f"(cost {plan.unfinished_cost})"
            )
        click.echo(f"new: {plan.to_write} group(s), cost {plan.cost} message(s)")
        if plan.unknown_cost:
            click.echo(f"  ({plan.unknown_cost} group(s) with an unknown member count are not in the cost)")
        limit, used, remaining, source = remaining_quota(runtime.client(), settings, now)
        click.echo(f"this month: {used} of {limit} used ({source}), {remaining} left")
        if plan.total_cost > remaining and not force:
            raise click.ClickException(
                f"refused: the notice costs {plan.total_cost} but only {remaining} message(s) are left "
                "this month (--force to send anyway)"
            )
        if plan.to_write == 0 and plan.unfinished == 0:
            click.echo("nothing to send")
            return
        if not yes:
            click.confirm("send it?", abort=True)
        write_notice(plan, now)
        report = _send(plan, settings, rate or settings.notice_rate_limit, workers)
    click.echo(
        f"sent {report.states['sent']}, failed {report.failed}, "
        f"cancelled {report.states['cancelled']} (bot no longer in the group), "
        f"left for the scheduler {report.left}, in {report.elapsed:.1f}s"
    )
    if report.interrupted:
        click.echo("interrupted: the scheduler sends the rest", err=True)
        sys.exit(130)
    if report.failed:
        sys.exit(1)


def _send(plan, settings, rate: float, workers: int):
    client = sender_client(settings, workers)
    try:
        with click.progressbar(length=plan.to_write + plan.unfinished, label="sending") as bar:
            return send_notice(
                plan.digest, client, rate=rate, workers=workers, on_final=lambda _: bar.update(1)
            )
    finally:
        client.close()


@operator_cli.command("create")
@click.option("--org", "slug", required=True, help="The organisation the operator works for.")
@click.option("--email", required=True, help="What they log in with.")
@click.option("--role", type=click.Choice(["admin", "staff"]), default="staff", show_default=True)
@click.option("--name", default="", help="Their name, as other operators see it.")
@click.option("--link", is_flag=True, help="Print a one-time sign-up link instead of reading a password.")
@click.option(
    "--url", default="", help="The site's address, for the link (e.g. https://tsunagari.example.jp)."
)
def operator_create(slug: str, email: str, role: str, name: str, link: bool, url: str) -> None:
    """Create a console operator.  The password is read from standard input
    (prompted for, twice, on a terminal); with --link a one-time sign-up link
    valid for 72 hours is printed instead."""
    from services.operators import OperatorError, create_operator

    password = None
    if not link:
        if sys.stdin.isatty():
            password = click.prompt("password", hide_input=True, confirmation_prompt=True)
        else:
            password = sys.stdin.readline().rstrip("\r\n")
    with connected():
        org = _org(slug)
        try:
            operator, token = create_operator(org, email, role, clock.now(), name=name, password=password)
        except OperatorError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"created {operator.email} ({role}) for {slug}")
    if token:
        click.echo(f"sign-up link (valid 72 hours, once): {url.rstrip('/')}/console/signup/{token}")


@operator_cli.command("list")
@click.option("--org", "slug", required=True)
def operator_list(slug: str) -> None:
    """List an organisation's console operators."""
    from models import Operator

    with connected():
        org = _org(slug)
        for operator in Operator.select().where(Operator.organisation == org).order_by(Operator.id):
            state = "active" if operator.active else "stopped"
            if operator.password_hash is None:
                state += ", no password yet"
            click.echo(f"{operator.email}\t{operator.role}\t{state}\t{operator.name}")


@console_cli.command("refresh-stats")
@click.option("--org", "slug", default=None, help="Only this organisation (default: all).")
def console_refresh_stats(slug: str | None) -> None:
    """Compute the console's monthly statistics ahead of the first visit
    (months that are over are kept; run after a deploy or nightly)."""
    import time

    from services import statistics

    settings = _settings()
    with connected():
        orgs = [_org(slug)] if slug else list(Organisation.select().order_by(Organisation.slug))
        for org in orgs:
            began = time.monotonic()
            months = statistics.refresh(org.id, clock.now(), settings.tz)
            click.echo(f"{org.slug}: {months} month(s) computed in {time.monotonic() - began:.1f}s")


@click.command("usage")
@with_appcontext
def usage_command() -> None:
    """This month's LINE messages, and what 見守り needs next."""
    settings = _settings()
    now = clock.now()
    with connected():
        limit, used, remaining, source = remaining_quota(runtime.client(), settings, now)
        projection = watch_budget.project(now, settings)
        watches = (
            Watch.select().where((Watch.state == WatchState.ACTIVE) & Watch.schedule.is_null(False)).count()
        )
        account = watch_budget.line_account()
    month = now.astimezone(settings.tz).strftime("%Y-%m")
    click.echo(
        f"month {month} ({settings.timezone}): {used} of {limit} messages used ({source}), {remaining} left"
    )
    click.echo(f"queued, not sent yet: {projection.queued}")
    click.echo(
        f"見守り: {watches} active watch(es); the next 24 hours may need up to {projection.needed} message(s) "
        f"({projection.checks} check(s) and as many resends, {projection.reserve} kept for escalations, "
        f"{projection.unresolved} for escalations still open)"
    )
    if projection.short:
        click.echo(
            f"warning: only {projection.remaining} left: checks and resends will be dropped before any escalation"
        )
    if account.budget_warning:
        click.echo(f"last warning: {account.budget_warning}")
