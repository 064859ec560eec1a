"""Today, the queue, groups and watches."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from models import db
from services import audit, console_queue, group_directory
from services import today as today_service
from services.statistics import csv_bytes
from web.console.blueprint import address, bp, local, now


@bp.errorhandler(404)
def _not_found(error):
    return render_template(
        "console/error.html", title="見つかりません", message="お探しのページは見つかりませんでした。"
    ), 404


@bp.errorhandler(403)
def _forbidden(error):
    return render_template(
        "console/error.html", title="管理者のみの画面です", message="この画面は管理者の方だけが使えます。"
    ), 403


# -- Today -------------------------------------------------------------------
def _today_context():
    console_queue.collect(g.org.id, now())
    return {
        "t": today_service.today(g.org.id),
        "queue_counts": console_queue.counts(g.org.id),
        "help_items": console_queue.list_items(g.org.id, "open", limit=10),
        "kinds": today_service.KINDS,
        "updated_at": now(),
    }


@bp.route("/")
def today():
    return render_template("console/today.html", **_today_context())


@bp.route("/today/live")
def today_live():
    """The live part of Today, for the page's script to swap in."""
    return render_template("console/_today_live.html", **_today_context())


# -- The queue ---------------------------------------------------------------
@bp.route("/queue")
def queue():
    state = request.args.get("state", "open")
    if state not in console_queue.STATES:
        state = "open"
    console_queue.collect(g.org.id, now())
    return render_template(
        "console/queue.html",
        state=state,
        states=console_queue.STATES,
        rows=console_queue.list_items(g.org.id, state),
        counts=console_queue.counts(g.org.id),
        sources=console_queue.SOURCES,
        outcomes=console_queue.OUTCOMES,
    )


def _item_or_404(item_id: int):
    item = console_queue.item_of(g.org.id, item_id)
    if item is None:
        abort(404)
    return item


@bp.route("/queue/<int:item_id>")
def queue_item(item_id: int):
    item = _item_or_404(item_id)
    row = console_queue.row_of(item)
    return render_template(
        "console/queue_item.html",
        row=row,
        outcomes=console_queue.OUTCOMES,
        states=console_queue.STATES,
        source=console_queue.SOURCES.get(item.source_kind),
        mine=item.claimed_by_id == g.operator.id,
    )


@bp.route("/queue/<int:item_id>/claim", methods=["POST"])
def queue_claim(item_id: int):
    _item_or_404(item_id)
    with db.atomic():
        won = console_queue.claim(g.org.id, item_id, g.operator, now())
        if won:
            audit.record(g.operator, "queue.claim", now(), target=f"queue:{item_id}", address=address())
    if won:
        flash(f"No.{item_id} を引き受けました。対応が終わったら結果を記録してください。", "info")
    else:
        flash(f"No.{item_id} はすでにほかの方が引き受けています。", "warning")
    return redirect(url_for("console.queue_item", item_id=item_id))


@bp.route("/queue/<int:item_id>/release", methods=["POST"])
def queue_release(item_id: int):
    _item_or_404(item_id)
    with db.atomic():
        done = console_queue.release(g.org.id, item_id, g.operator)
        if done:
            audit.record(g.operator, "queue.release", now(), target=f"queue:{item_id}", address=address())
    flash(
        f"No.{item_id} を未対応に戻しました。" if done else "引き受けていない項目は戻せません。",
        "info" if done else "warning",
    )
    return redirect(url_for("console.queue"))


@bp.route("/queue/<int:item_id>/outcome", methods=["POST"])
def queue_outcome(item_id: int):
    _item_or_404(item_id)
    outcome = request.form.get("outcome", "")
    if outcome not in console_queue.OUTCOMES:
        flash("対応結果を選んでください。", "warning")
        return redirect(url_for("console.queue_item", item_id=item_id)), 303
    with db.atomic():
        done = console_queue.record_outcome(
            g.org.id, item_id, g.operator, outcome, request.form.get("note", ""), now()
        )
        if done:
            audit.record(
                g.operator,
                "queue.outcome",
                now(),
                target=f"queue:{item_id}",
                detail=f"outcome={outcome}",  # never the note: it may quote residents
                address=address(),
            )
    if done:
        flash(f"No.{item_id} の対応結果「{console_queue.OUTCOMES[outcome]}」を記録しました。", "info")
        return redirect(url_for("console.queue"))
    flash("この項目はあなたが引き受けていないため、記録できませんでした。", "warning")
    return redirect(url_for("console.queue_item", item_id=item_id))


# -- Groups and watches --------------------------------------------------------
def _filters() -> group_directory.Filters:
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    return group_directory.Filters(
        q=request.args.get("q", "")[:50],
        area=request.args.get("area", "")[:7],
        last_answer=request.args.get("last_answer", ""),
        paused=request.args.get("paused", ""),
        page=max(page, 1),
    )


@bp.route("/groups")
def groups():
    filters = _filters()
    rows, total = group_directory.list_groups(g.org.id, filters, now())
    pages = max((total + group_directory.PAGE - 1) // group_directory.PAGE, 1)
    return render_template(
        "console/groups.html",
        rows=rows,
        total=total,
        filters=filters,
        pages=pages,
        areas=group_directory.org_areas(g.org.id),
        last_answer_choices=group_directory.LAST_ANSWER,
    )


@bp.route("/groups.csv")
def groups_csv():
    filters = _filters()
    header = [
        "グループ番号",
        "地域",
        "地域コード",
        "予定",
        "停止中",
        "LINEの人数",
        "登録した人数",
        "最後の回答",
    ]
    rows, page = [], 1
    while True:
        filters.page = page
        batch, total = group_directory.list_groups(g.org.id, filters, now())
        rows += [
            [
                r.id,
                r.area,
                r.area_code or "",
                r.schedule,
                "はい" if r.paused else "いいえ",
                r.member_count,
                r.registered,
                local(r.last_answer_at, "%Y-%m-%d %H:%M") if r.last_answer_at else "",
            ]
            for r in batch
        ]
        if page * group_directory.PAGE >= total:
            break
        page += 1
    return csv_bytes(header, rows), 200, _csv_headers("groups.csv")


def _csv_headers(filename: str) -> dict:
    return {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"',
    }


@bp.route("/groups/<int:group_id>")
def group(group_id: int):
    found = group_directory.group_of(g.org.id, group_id)
    if found is None:
        abort(404)
    rounds = group_directory.recent_rounds(found)
    return render_template(
        "console/group.html",
        group=found,
        schedule=group_directory.schedule_text(found.schedule),
        rounds=rounds,
        members=group_directory.members(found),
        items=group_directory.queue_items_of(found),
        kinds=today_service.KINDS,
        states=console_queue.STATES,
        outcomes=console_queue.OUTCOMES,
        sources=console_queue.SOURCES,
    )


@bp.route("/watches")
def watches():
    q = request.args.get("q", "")[:50]
    rows, total = group_directory.list_watches(g.org.id, q)
    return render_template(
        "console/watches.html", rows=rows, total=total, q=q, limit=group_directory.WATCH_LIMIT
    )
