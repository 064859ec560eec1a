"""The copied real telegrams, and edited variants of them (訓練, 試験, 訂正,
取消, 未入電) made in memory from a real file, as tests/fixtures/jma/README.md
describes: no invented telegram is stored."""

from __future__ import annotations

import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "jma"

ALL_TELEGRAMS = sorted(path.name for path in FIXTURES.glob("*.xml"))

# 2021-02-18 03:58 愛知県西部 M4.2, 162 cities incl. 名古屋's wards; max 震度3
# in 豊田市 (2321100) and 東海市 (2322200), 震度2 in 名古屋千種区 (2310100).
AICHI = "20210217190220_0_VXSE53_010000.xml"
# 2021-02-19 18:11 岩手県内陸北部 M3.9; max 震度4
IWATE = "20210219091451_0_VXSE53_010000.xml"


def read_fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def edit_telegram(
    name: str,
    *,
    status: str | None = None,
    info_type: str | None = None,
    event_id: str | None = None,
    origin_time: str | None = None,
    city_max_int: dict[str, str] | None = None,
) -> bytes:
    """A copy of a real telegram with Control/Status, Head/InfoType,
    Head/EventID, Body/Earthquake/OriginTime or some City MaxInt values
    replaced.  A MaxInt of "未入電" turns the City into JMA's
    「震度５弱以上未入電」 form (no MaxInt, a Condition)."""
    text = read_fixture(name).decode("utf-8")

    def replace_once(pattern: str, repl: str) -> None:
        nonlocal text
        text, count = re.subn(pattern, repl, text, count=1)
        assert count == 1, f"{pattern!r} not found in {name}"

    if status is not None:
        replace_once(r"<Status>[^<]*</Status>", f"<Status>{status}</Status>")
    if info_type is not None:
        replace_once(r"<InfoType>[^<]*</InfoType>", f"<InfoType>{info_type}</InfoType>")
    if event_id is not None:
        replace_once(r"<EventID>[^<]*</EventID>", f"<EventID>{event_id}</EventID>")
    if origin_time is not None:
        replace_once(r"<OriginTime>[^<]*</OriginTime>", f"<OriginTime>{origin_time}</OriginTime>")
    for code, value in (city_max_int or {}).items():
        city = rf"(<City><Name>[^<]*</Name><Code>{code}</Code>)<MaxInt>[^<]*</MaxInt>"
        if value == "未入電":
            replace_once(city, r"\1<Condition>震度５弱以上未入電</Condition>")
        else:
            replace_once(city, rf"\1<MaxInt>{value}</MaxInt>")
    return text.encode("utf-8")
