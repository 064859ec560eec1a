"""For admins: the organisation's operators, the audit log, the link code."""

from __future__ import annotations

import secrets

from flask import abort, flash, g, redirect, render_template, request, url_for
from peewee import IntegrityError

from models import Organisation, db
from services import audit, operators
from services.operators import ROLES, OperatorError
from web.console.blueprint import address, admin_required, bp, now

# Link codes avoid characters that are confused when read aloud or copied
# from paper (0/O, 1/I/L).
LINK_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LINK_LENGTH = 8


@bp.route("/organisation")
def organisation():
    return render_template("console/organisation.html", org=g.org)


@bp.route("/organisation/link-code", methods=["POST"])
@admin_required
def link_code():
    """A new code for /団体 CODE; the old one stops linking (groups already
    linked stay linked)."""
    for _ in range(5):
        code = "".join(secrets.choice(LINK_ALPHABET) for _ in range(LINK_LENGTH))
        try:
            with db.atomic():
                Organisation.update(link_code=code).where(Organisation.id == g.org.id).execute()
                audit.record(g.operator, "org.link_code", now(), address=address())
            break
        except IntegrityError:
            continue
    flash("新しい連携コードを発行しました。", "info")
    return redirect(url_for("console.organisation"))


@bp.route("/operators")
@admin_required
def operators_page():
    return render_template(
        "console/operators.html",
        people=operators.list_operators(g.org.id),
        roles=ROLES,
        now=now(),
        signup_pending=operators.signup_pending,
    )


def _signup_url(token: str) -> str:
    return url_for("console.signup", token=token, _external=True)


@bp.route("/operators", methods=["POST"])
@admin_required
def operator_invite():
    try:
        with db.atomic():
            created, token = operators.create_operator(
                g.org,
                request.form.get("email", ""),
                request.form.get("role", "staff"),
                now(),
                name=request.form.get("name", ""),
            )
            audit.record(
                g.operator, "operator.invite", now(), target=f"operator:{created.id}", address=address()
            )
    except OperatorError as exc:
        flash(str(exc), "warning")
        return redirect(url_for("console.operators_page"))
    return render_template("console/operator_link.html", person=created, link=_signup_url(token))


def _operator_or_404(operator_id: int):
    found = operators.of_organisation(g.org.id, operator_id)
    if found is None:
        abort(404)
    return found


@bp.route("/operators/<int:operator_id>/role", methods=["POST"])
@admin_required
def operator_role(operator_id: int):
    target = _operator_or_404(operator_id)
    role = request.form.get("role", "")
    try:
        with db.atomic():
            operators.change_role(g.operator, target, role)
            audit.record(
                g.operator,
                "operator.role",
                now(),
                target=f"operator:{target.id}",
                detail=f"role={role}",
                address=address(),
            )
    except OperatorError as exc:
        flash(str(exc), "warning")
    else:
        flash("役割を変更しました。", "info")
    return redirect(url_for("console.operators_page"))


@bp.route("/operators/<int:operator_id>/active", methods=["POST"])
@admin_required
def operator_active(operator_id: int):
    target = _operator_or_404(operator_id)
    active = request.form.get("active") == "1"
    try:
        with db.atomic():
            operators.set_active(g.operator, target, active)
            audit.record(
                g.operator,
                "operator.resume" if active else "operator.stop",
                now(),
                target=f"operator:{target.id}",
                address=address(),
            )
    except OperatorError as exc:
        flash(str(exc), "warning")
    else:
        flash("利用を再開しました。" if active else "利用を停止しました。", "info")
    return redirect(url_for("console.operators_page"))


@bp.route("/operators/<int:operator_id>/link", methods=["POST"])
@admin_required
def operator_link(operator_id: int):
    target = _operator_or_404(operator_id)
    if target.password_hash is not None:
        flash("この方はすでにパスワードを設定しています。", "warning")
        return redirect(url_for("console.operators_page"))
    with db.atomic():
        token = operators.new_signup_link(target, now())
        audit.record(g.operator, "operator.link", now(), target=f"operator:{target.id}", address=address())
    return render_template("console/operator_link.html", person=target, link=_signup_url(token))


@bp.route("/audit")
@admin_required
def audit_page():
    try:
        before = int(request.args.get("before", "0")) or None
    except ValueError:
        before = None
    events = audit.page(g.org.id, before)
    return render_template(
        "console/audit.html",
        events=events,
        actions=audit.ACTIONS,
        next_before=events[-1].id if len(events) == audit.PAGE else None,
    )
