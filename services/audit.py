"""The audit log: every operator action, who, what and when.

``record`` is called in the transaction of the action it records.  Details
hold ids, counts and codes; never what residents wrote (their names are not
in it either: a queue item is named by its number).
"""

from __future__ import annotations

from datetime import datetime

from models import AuditEvent, Operator, naive

# What each action is called on the audit page.
ACTIONS = {
    "login": "ログイン",
    "login.refused": "ログイン（失敗が続いたため拒否）",
    "logout": "ログアウト",
    "signup": "パスワード設定（初回）",
    "password": "パスワード変更",
    "operator.invite": "担当者を招待",
    "operator.role": "担当者の役割を変更",
    "operator.stop": "担当者の利用を停止",
    "operator.resume": "担当者の利用を再開",
    "operator.link": "招待リンクを再発行",
    "queue.claim": "対応を引き受け",
    "queue.release": "対応を戻す",
    "queue.outcome": "対応結果を記録",
    "notice.send": "お知らせを送信",
    "org.link_code": "連携コードを発行",
    "stats.export": "統計をCSVで出力",
}
PAGE = 50


def record(
    operator: Operator,
    action: str,
    now: datetime,
    *,
    target: str = "",
    detail: str = "",
    address: str = "",
) -> AuditEvent:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    return AuditEvent.create(
        organisation=operator.organisation_id,
        operator=operator.id,
        operator_email=operator.email,
        action=action,
        target=target[:80],
        detail=detail[:500],
        address=(address or "")[:64],
        at=naive(now),
    )


def page(org_id: int, before: int | None = None, limit: int = PAGE) -> list[AuditEvent]:
    """Newest first; ``before`` is the id the previous page ended at (keyset)."""
    query = AuditEvent.select().where(AuditEvent.organisation == org_id)
    if before:
        query = query.where(AuditEvent.id < before)
    return list(query.order_by(AuditEvent.id.desc()).limit(limit))
