"""The 名簿 of people without LINE (/名簿 追加, /名簿 削除): kept in the roll
call so that the neighbours who phone or visit them are counted too."""

from __future__ import annotations

from datetime import datetime

from models import Group, Member, OfflineMember, naive
from services.followups import withdraw_offline

# A 自治会's members without LINE fit easily; the limit keeps a summary's
# buttons within LINE's message limits whatever happens.
MAX_OFFLINE = 100


def offline_members(group: Group) -> list[OfflineMember]:
    return list(
        OfflineMember.select()
        .where((OfflineMember.group == group) & OfflineMember.active)
        .order_by(OfflineMember.added_at, OfflineMember.id)
    )


def find_offline(group: Group, name: str) -> OfflineMember | None:
    return (
        OfflineMember.select()
        .where((OfflineMember.group == group) & OfflineMember.active & (OfflineMember.name == name))
        .first()
    )


def add_offline(group: Group, name: str, by: Member | None, now: datetime) -> OfflineMember | None:
    """Put ``name`` on the 名簿; None when the 名簿 is full."""
    if len(offline_members(group)) >= MAX_OFFLINE:
        return None
    return OfflineMember.create(group=group, name=name, added_by=by, added_at=naive(now))


def remove_offline(offline: OfflineMember, now: datetime) -> None:
    """Take them off the 名簿 (the row is kept for past rounds); nobody is
    asked to check on them any more."""
    OfflineMember.update(active=False, removed_at=naive(now)).where(OfflineMember.id == offline.id).execute()
    withdraw_offline(offline, now)
