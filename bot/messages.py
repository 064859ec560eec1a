"""Message builders: LINE message objects (plain dicts, as LINE's JSON).

Kind, plain Japanese for members who are new to smartphones: one big
button, large text that follows the phone's font size (``scaling``), no
jargon.  This is care, not 監視: the wording asks, thanks and reassures.
Builders are pure functions of their arguments; the outbox stores their
output as JSON, so a retry sends exactly the same body.
"""

from __future__ import annotations

from datetime import datetime

from domain.rounds import Tally

GREEN = "#06C755"  # LINE green: the colour members already associate with "go"
TEXT_LIMIT = 5000  # LINE's limit for one text message, in UTF-16 code units

DRILL_LABEL = "【訓練】"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def text(body: str) -> dict:
    return {"type": "text", "text": body}


def postback(label: str, data: str, display_text: str | None = None) -> dict:
    action = {"type": "postback", "label": label, "data": data}
    if display_text:
        action["displayText"] = display_text
    return action


def _text(body: str, size: str = "lg", weight: str | None = None, color: str | None = None) -> dict:
    component = {"type": "text", "text": body, "size": size, "wrap": True, "scaling": True}
    if weight:
        component["weight"] = weight
    if color:
        component["color"] = color
    return component


def button(action: dict, style: str = "primary", color: str | None = GREEN) -> dict:
    """A big Flex button (height md, follows the phone's font size)."""
    component = {"type": "button", "style": style, "height": "md", "action": action, "scaling": True}
    if color and style == "primary":
        component["color"] = color
    return component


def bubble(title: str, lines: list[str], buttons: list[dict], alt: str) -> dict:
    """A Flex message: a bold title, large lines of text, buttons below."""
    body = [_text(title, size="xl", weight="bold")]
    body += [_text(line, size="lg") for line in lines]
    return {
        "type": "flex",
        "altText": alt,
        "contents": {
            "type": "bubble",
            "size": "giga",
            "body": {"type": "box", "layout": "vertical", "spacing": "md", "contents": body},
            "footer": {"type": "box", "layout": "vertical", "spacing": "md", "contents": buttons},
        },
    }


JOIN_ACTION = postback("参加する", "a=join", "参加します")


def greeting() -> list[dict]:
    """The bot was invited into a group."""
    return [
        bubble(
            "こんにちは。「つながり」です",
            [
                "決まった時間に「無事ですか？」とお聞きします。",
                "OKのボタンを押すだけで、グループのみなさんと無事を確かめ合えます。",
                "お名前や住所などの個人情報は必要ありません。",
                "参加する方は、下のボタンを押してください。",
            ],
            [button(JOIN_ACTION)],
            "つながりです。参加する方は「参加する」を押してください。",
        ),
        text("まとめ役の方は「/リーダー」と送ってください。使い方は「/ヘルプ」で見られます。"),
    ]


def welcome() -> list[dict]:
    """Someone joined a group the bot is in."""
    return [
        bubble(
            "ようこそ",
            [
                "このグループでは「つながり」で、おたがいの無事を確かめ合っています。",
                "参加する方は、下のボタンを押してください。",
            ],
            [button(JOIN_ACTION)],
            "ようこそ。参加する方は「参加する」を押してください。",
        )
    ]


def registered(name: str, named: bool) -> list[dict]:
    lines = f"{name}さん、参加ありがとうございます。\n確認のお知らせが来たら、OKを押してください。"
    if not named:
        lines += "\nお名前が取得できませんでした。「/名前 山田花子」のように送ると登録できます。"
    return [text(lines)]


def already_registered(name: str) -> list[dict]:
    return [text(f"{name}さんは参加済みです。ありがとうございます。")]


def please_join() -> list[dict]:
    """An unregistered member answered: their OK would not be counted."""
    return [
        bubble(
            "まだ参加されていません",
            ["OKを数えるには、先に「参加する」を押してください。"],
            [button(JOIN_ACTION)],
            "先に「参加する」を押してください。",
        )
    ]


def _when(kind: str) -> str:
    return DRILL_LABEL if kind == "drill" else ""


def prompt(round_id: int, kind: str = "routine", headline: str | None = None) -> list[dict]:
    """The safety check: one big OK button (and 助けが必要 in emergencies).

    displayText makes each tap visible in the group, as if the member had
    typed it, so everyone sees who has answered."""
    label = _when(kind)
    if kind in ("emergency", "drill"):
        title = f"{label}無事を確認しています"
        lines = [headline or "地震がありました。", "無事な方はOKを押してください。"]
        buttons = [
            button(postback("OK（無事）", f"a=ok&r={round_id}", f"{label}OK（無事です）")),
            button(
                postback("助けが必要", f"a=help&r={round_id}", f"{label}助けが必要です"),
                color="#D93A3A",
            ),
        ]
    else:
        title = "無事ですか？"
        lines = ["お変わりなければ、OKを押してください。"]
        buttons = [button(postback("OK", f"a=ok&r={round_id}", "OK"))]
    alt = f"{label}つながりの確認です。{lines[-1]}"
    return [bubble(title, lines, buttons, alt)]


def answer_thanks(name: str) -> list[dict]:
    return [text(f"{name}さん、ありがとうございます。確認しました。")]


def help_on_the_way(name: str, kind: str) -> list[dict]:
    """What happens next, for the member who asked for help.  It promises
    only what the bot does (leaders are told), never that someone will come."""
    if kind == "drill":
        return [
            text(
                f"{DRILL_LABEL}{name}さん、押してくださってありがとうございます。"
                "本番では、このボタンでリーダーの方にすぐお伝えします。"
                "本当に困ったときも、遠慮なく押してください。"
            )
        ]
    return [
        text(
            f"{name}さん、知らせてくださってありがとうございます。"
            "リーダーの方にお伝えしました。連絡があるまで、できるだけ安全な場所にいてください。"
            "けがや急病など急ぐときは、119番（救急）に電話してください。"
        )
    ]


def help_alert(name: str, leader_names: list[str], kind: str) -> list[dict]:
    to = "、".join(f"{n}さん" for n in leader_names) or "リーダーの方"
    return [
        text(
            f"{_when(kind)}{to}へ：{name}さんが「助けが必要」を押しました。お声がけか、ご連絡をお願いします。"
        )
    ]


def round_closed() -> list[dict]:
    return [text("この確認は締め切られました。次の確認でOKを押してください。")]


def summary(tally: Tally, kind: str = "routine") -> list[dict]:
    """The one message after the delay: who has not answered, kindly."""
    label = _when(kind)
    if tally.everyone_answered:
        body = f"{label}全員の無事が確認できました。ご協力ありがとうございます。"
    else:
        names = "、".join(f"{m.name}さん" for m in tally.unanswered)
        body = f"{label}{names}の無事がまだ確認できていません。お声がけをお願いします。"
        if tally.answered:
            body += f"\n（{len(tally.answered)}人の方は確認できました）"
    if tally.need_help:
        body += "\n助けが必要な方：" + "、".join(f"{m.name}さん" for m in tally.need_help)
    return [text(body)]


def notice(body: str) -> list[dict]:
    return [text(f"【お知らせ】\n{body}")]


NOTICE_LIMIT = TEXT_LIMIT - utf16_len("【お知らせ】\n")


def org_notice(org_name: str, body: str) -> list[dict]:
    """A notice an organisation sends to its groups (flask notice send)."""
    return [text(f"【{org_name}からのお知らせ】\n{body}")]


def format_local(moment: datetime) -> str:
    return f"{moment.month}月{moment.day}日 {moment.hour}時{moment.minute:02d}分"


ONE_TO_ONE = (
    "「つながり」はLINEグループで使う見守りボットです。"
    "グループに招待して、みなさんで無事を確かめ合ってください。"
)
