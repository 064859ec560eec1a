"""What is kept of a JMA telegram: the parsed fields the quake rules read,
stored on its JmaTelegram row, and the Telegram read back from them."""

from __future__ import annotations

import json

from domain.jma import Intensity, Telegram
from models import JmaTelegram, naive, utc


def telegram_fields(telegram: Telegram) -> dict:
    """The columns of JmaTelegram that keep what domain.quake reads."""
    cities = {
        code: [intensity.value, telegram.city_names.get(code, ""), code in telegram.unreceived_cities]
        for code, intensity in telegram.cities.items()
    }
    return {
        "kind": telegram.kind[:40],
        "type_code": telegram.type_code,
        "status": telegram.status,
        "info_type": telegram.info_type,
        "event_id": telegram.event_id[:40],
        "serial": telegram.serial,
        "report_datetime": naive(telegram.report_datetime),
        "origin_time": naive(telegram.origin_time) if telegram.origin_time else None,
        "hypocenter_name": (telegram.hypocenter_name or "")[:100] or None,
        "magnitude": telegram.magnitude,
        "max_intensity": telegram.max_intensity.value if telegram.max_intensity else None,
        "cities": json.dumps(cities, ensure_ascii=False, separators=(",", ":")),
    }


def telegram_from_row(row: JmaTelegram) -> Telegram:
    """The stored fields back as a Telegram (headline and titles are not kept)."""
    cities = json.loads(row.cities or "{}")
    return Telegram(
        kind=row.kind or "",
        type_code=row.type_code,
        title="",
        status=row.status,
        info_type=row.info_type,
        event_id=row.event_id,
        serial=row.serial,
        report_datetime=utc(row.report_datetime),
        origin_time=utc(row.origin_time),
        hypocenter_name=row.hypocenter_name,
        magnitude=row.magnitude,
        magnitude_text=None,
        max_intensity=Intensity(row.max_intensity) if row.max_intensity else None,
        headline="",
        cities={code: Intensity(value[0]) for code, value in cities.items()},
        unreceived_cities=frozenset(code for code, value in cities.items() if value[2]),
        city_names={code: value[1] for code, value in cities.items()},
    )
