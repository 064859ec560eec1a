"""The notice page: compose, pick areas, see the cost against the month's
remaining quota, send, watch the progress.

It runs services/notices.py and jobs/notice_sender.py exactly as ``flask notice send`` does — plan_notice,
write_notice, send_notice — so a notice sent from here and one sent from
the command line are the same notice (same digest, same outbox rows, never
sent twice).  The request writes the rows and returns; a thread of the web
process sends them at NOTICE_RATE_LIMIT.  If that process dies, its lease on
the rows lapses and the scheduler's sweep sends the rest.
"""

from __future__ import annotations

import logging
import threading

from flask import abort, flash, g, redirect, render_template, request, url_for

from domain.areas import area_by_code
from jobs import runtime
from jobs.notice_sender import send_notice, sender_client
from models import connected, db
from services import audit, console_notices, group_directory
from services.notices import NoticeError, plan_notice, write_notice
from services.usage import remaining_quota
from web.console.blueprint import address, bp, now, settings

log = logging.getLogger(__name__)
MAX_TEXT = 1000
SENDER_WORKERS = 4


def _read_form() -> tuple[str, tuple[str, ...], str | None]:
    text = request.form.get("text", "").strip()
    areas = tuple(sorted({a for a in request.form.getlist("area") if a}))
    if not text:
        return text, areas, "お知らせの本文を入力してください。"
    if len(text) > MAX_TEXT:
        return text, areas, f"本文は{MAX_TEXT}文字以内にしてください。"
    known = {code for code, _ in group_directory.org_areas(g.org.id)}
    if any(code not in known or area_by_code(code) is None for code in areas):
        return text, areas, "地域の選び方が正しくありません。"
    return text, areas, None


def _page(text="", areas=(), error=None, status=200):
    return (
        render_template(
            "console/notices.html",
            text=text,
            chosen=set(areas),
            areas=group_directory.org_areas(g.org.id),
            notices=console_notices.recent(g.org.id),
            error=error,
            max_text=MAX_TEXT,
        ),
        status,
    )


@bp.route("/notices")
def notices():
    return _page()


def _plan(text, areas):
    plan = plan_notice(g.org.slug, areas, text, now(), settings().tz)
    limit, used, remaining, source = remaining_quota(runtime.client(), settings(), now())
    return plan, {"limit": limit, "used": used, "remaining": remaining, "source": source}


@bp.route("/notices/preview", methods=["POST"])
def notice_preview():
    text, areas, error = _read_form()
    if error:
        return _page(text, areas, error, 400)
    try:
        plan, quota = _plan(text, areas)
    except NoticeError as exc:
        return _page(text, areas, _notice_error(exc), 400)
    return render_template(
        "console/notice_preview.html",
        plan=plan,
        quota=quota,
        over=plan.total_cost > quota["remaining"],
        area_names=[area_by_code(code).label for code in plan.areas],
    )


def _notice_error(exc: NoticeError) -> str:
    if "too long" in str(exc):
        return "本文が長すぎて、LINEの1通に収まりません。短くしてください。"
    if "empty" in str(exc):
        return "お知らせの本文を入力してください。"
    return "お知らせを準備できませんでした。"


@bp.route("/notices/send", methods=["POST"])
def notice_send():
    text, areas, error = _read_form()
    if error:
        return _page(text, areas, error, 400)
    try:
        plan, quota = _plan(text, areas)
    except NoticeError as exc:
        return _page(text, areas, _notice_error(exc), 400)
    if plan.total_cost > quota["remaining"]:
        return _page(
            text,
            areas,
            f"今月の残り（{quota['remaining']:,}通）では送れません（必要：{plan.total_cost:,}通）。",
            409,
        )
    with db.atomic():
        written = write_notice(plan, now())
        notice = console_notices.record(g.org.id, plan, g.operator, now())
        audit.record(
            g.operator,
            "notice.send",
            now(),
            target=f"notice:{notice.id}",
            detail=f"groups={plan.groups} new={written} cost={plan.total_cost} areas={' '.join(plan.areas) or 'all'}",
            address=address(),
        )
    if written or plan.unfinished:
        _start_sender(plan.digest)
        flash(f"{plan.groups:,}グループへの送信を始めました。", "info")
    else:
        flash("このお知らせは今月すでに送信済みです。もう一度送ることはしません。", "info")
    return redirect(url_for("console.notice", notice_id=notice.id))


def _start_sender(digest: str) -> None:
    config = settings()
    client = sender_client(config, SENDER_WORKERS)

    def run():
        try:
            with connected():
                send_notice(digest, client, rate=config.notice_rate_limit, workers=SENDER_WORKERS)
        except Exception:
            # The rows are the truth: the sweep sends what is left.
            log.exception("console notice sender stopped; the scheduler will send the rest")
        finally:
            client.close()

    threading.Thread(target=run, name=f"notice-{digest[:8]}", daemon=True).start()


def _notice_or_404(notice_id: int):
    notice = console_notices.of_organisation(g.org.id, notice_id)
    if notice is None:
        abort(404)
    return notice


@bp.route("/notices/<int:notice_id>")
def notice(notice_id: int):
    found = _notice_or_404(notice_id)
    return render_template("console/notice.html", notice=found, progress=console_notices.progress(found))


@bp.route("/notices/<int:notice_id>/progress")
def notice_progress(notice_id: int):
    found = _notice_or_404(notice_id)
    return render_template(
        "console/_notice_progress.html", notice=found, progress=console_notices.progress(found)
    )
