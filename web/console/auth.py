"""Logging in and out, the one-time sign-up link, changing one's password.

Flask-Login keeps the operator's ``session_token`` in the signed session
cookie; changing the token (new password, access stopped) ends every
session at once.  Failed logins are counted in the database
(services.operators) and answered 429 past the limit.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, login_user, logout_user

from models import db
from services import audit, operators
from services.operators import MIN_PASSWORD, OperatorError
from web.console.blueprint import address, bp, now

login_manager = LoginManager()
login_manager.login_view = "console.login"
login_manager.login_message = "ログインしてください。"
login_manager.login_message_category = "info"
# A session stolen to another browser or address is dropped.
login_manager.session_protection = "strong"


class ConsoleUser(UserMixin):
    def __init__(self, operator):
        self.operator = operator

    def get_id(self) -> str:
        return self.operator.session_token

    @property
    def is_active(self) -> bool:
        return self.operator.active


@login_manager.user_loader
def _load(token: str):
    operator = operators.by_session_token(token)
    return ConsoleUser(operator) if operator else None


def _safe_next(target: str | None) -> str:
    """Only a path inside the console (never another site)."""
    if target and target.startswith("/console/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("console.today")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("console/login.html", email="", next=request.args.get("next", ""))
    email = request.form.get("email", "")
    password = request.form.get("password", "")
    result = operators.login(email, password, address(), now())
    if result.limited:
        return (
            render_template(
                "console/login.html",
                email=email,
                next=request.form.get("next", ""),
                error=(
                    "ログインの失敗が続いたため、しばらく受け付けを止めています。"
                    "15分ほどたってから、もう一度お試しください。"
                ),
            ),
            429,
            {"Retry-After": "900"},
        )
    if result.operator is None:
        return (
            render_template(
                "console/login.html",
                email=email,
                next=request.form.get("next", ""),
                error="メールアドレスかパスワードが違います。",
            ),
            401,
        )
    session.clear()  # a fresh session: no fixation
    session.permanent = True
    login_user(ConsoleUser(result.operator))
    audit.record(result.operator, "login", now(), address=address())
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/logout", methods=["POST"])
def logout():
    audit.record(g.operator, "logout", now(), address=address())
    logout_user()
    session.clear()
    flash("ログアウトしました。", "info")
    return redirect(url_for("console.login"))


@bp.route("/signup/<token>", methods=["GET", "POST"])
def signup(token: str):
    operator = operators.operator_for_signup(token, now())
    if operator is None:
        abort(404)
    error = None
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("password2", ""):
            error = "確認のパスワードが一致しません。"
        else:
            try:
                with db.atomic():
                    done = operators.complete_signup(token, password, now())
                    if done is not None:
                        audit.record(done, "signup", now(), address=address())
            except OperatorError as exc:
                error = str(exc)
            else:
                if done is None:
                    abort(404)
                flash("パスワードを設定しました。ログインしてください。", "info")
                return redirect(url_for("console.login"))
    return render_template(
        "console/signup.html", operator=operator, error=error, min_password=MIN_PASSWORD
    ), (400 if error else 200)


@bp.route("/password", methods=["GET", "POST"])
def password():
    error = None
    if request.method == "POST":
        current = request.form.get("current", "")
        new = request.form.get("password", "")
        checked = operators.login(g.operator.email, current, address(), now())
        if checked.limited:
            error = "失敗が続いたため、しばらく受け付けを止めています。15分ほどたってからお試しください。"
        elif checked.operator is None:
            error = "今のパスワードが違います。"
        elif new != request.form.get("password2", ""):
            error = "確認のパスワードが一致しません。"
        else:
            try:
                with db.atomic():
                    changed = operators.set_password(g.operator, new)
                    audit.record(changed, "password", now(), address=address())
            except OperatorError as exc:
                error = str(exc)
            else:
                # The old session token no longer works: log in again here.
                login_user(ConsoleUser(changed))
                flash("パスワードを変更しました。ほかの端末のログインは終了しました。", "info")
                return redirect(url_for("console.today"))
    return render_template("console/password.html", error=error, min_password=MIN_PASSWORD), (
        400 if error else 200
    )
