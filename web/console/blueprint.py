"""The console's blueprint, its guards and helpers shared by the pages."""

from __future__ import annotations

from datetime import datetime
from functools import wraps

from flask import Blueprint, abort, current_app, g, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from domain.areas import area_by_code
from models import utc
from services import clock

bp = Blueprint("console", __name__, url_prefix="/console")

# Views anyone may open (the rest need a logged-in operator).
PUBLIC = {"console.login", "console.signup", "console.static_check"}

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


@bp.before_request
def _guard():
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        current_app.extensions["tsunagari.csrf"].protect()
    if request.endpoint in PUBLIC:
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # Flask-Login's, set up in web/console/auth.py
    g.operator = current_user.operator
    g.org = current_user.operator.organisation
    return None


@bp.after_request
def _headers(response):
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.errorhandler(CSRFError)
def _csrf_refused(error):
    return render_template(
        "console/error.html",
        title="もう一度お試しください",
        message=(
            "画面を開いてから時間がたったか、別の画面から送られたため、受け付けませんでした。"
            "お手数ですが、前の画面に戻って再読み込みしてから、もう一度操作してください。"
        ),
    ), 400


def admin_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.operator.role != "admin":
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def now() -> datetime:
    return clock.now()


def settings():
    return current_app.extensions["tsunagari.settings"]


def address() -> str:
    return request.remote_addr or ""


def local(moment: datetime | None, fmt: str = "%Y年%-m月%-d日 %H:%M") -> str:
    if moment is None:
        return "—"
    return utc(moment).astimezone(settings().tz).strftime(fmt)


def area_label(code: str | None) -> str:
    if not code:
        return "地域未設定"
    area = area_by_code(code)
    return area.label if area else code


@bp.app_template_filter("local")
def _local_filter(moment, fmt: str = "%Y年%-m月%-d日 %H:%M"):
    return local(moment, fmt)


@bp.app_template_filter("area")
def _area_filter(code):
    return area_label(code)


@bp.app_template_filter("pct")
def _pct(value):
    return "—" if value is None else f"{value * 100:.0f}%"


@bp.app_template_filter("num")
def _num(value):
    from services.statistics import fmt

    return fmt(value)
