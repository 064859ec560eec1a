"""LINE's message-object limits, one case per limit, over raw HTTP.

The SDK checks a few limits itself (pydantic: at most 5 messages, postback
data at most 300) before any HTTP call, so these bodies go through urllib3.
"""

from __future__ import annotations

import json

import pytest
from linebot.v3.messaging import (
    ButtonsTemplate,
    ConfirmTemplate,
    FlexContainer,
    FlexMessage,
    PostbackAction,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    TemplateMessage,
    TextMessage,
)

from emulator.limits import error_body, validate_messages


def text(value="ok"):
    return {"type": "text", "text": value}


def postback(label="OK", data="a=1", **extra):
    return {"type": "postback", "label": label, "data": data, **extra}


def buttons(text_value="Are you safe?", actions=None, **extra):
    return {
        "type": "template",
        "altText": "check-in",
        "template": {
            "type": "buttons",
            "text": text_value,
            "actions": [postback()] if actions is None else actions,
            **extra,
        },
    }


def confirm(text_value="Safe?", actions=None):
    return {
        "type": "template",
        "altText": "check-in",
        "template": {
            "type": "confirm",
            "text": text_value,
            "actions": [postback("Yes"), postback("No")] if actions is None else actions,
        },
    }


def bubble(*contents, **extra):
    return {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "contents": list(contents)},
        **extra,
    }


def flex(contents, alt="check-in"):
    return {"type": "flex", "altText": alt, "contents": contents}


def with_quick_reply(n, label="OK"):
    return {
        **text(),
        "quickReply": {"items": [{"type": "action", "action": postback(label)} for _ in range(n)]},
    }


BIG_TEXT = {"type": "text", "text": "x" * 2000}

# (case id, messages, property expected in the error details)
INVALID = [
    ("no messages", [], "messages"),
    ("six messages", [text()] * 6, "messages"),
    ("unknown message type", [{"type": "hologram"}], "messages[0].type"),
    ("empty text", [text("")], "messages[0].text"),
    ("text over 5000", [text("a" * 5001)], "messages[0].text"),
    ("emoji text over 5000 utf-16 units", [text("😀" * 2501)], "messages[0].text"),
    (
        "template without altText",
        [{"type": "template", "template": buttons()["template"]}],
        "messages[0].altText",
    ),
    ("template altText over 1500", [{**buttons(), "altText": "a" * 1501}], "messages[0].altText"),
    ("buttons text over 160", [buttons("a" * 161)], "messages[0].template.text"),
    ("buttons text over 60 with title", [buttons("a" * 61, title="T")], "messages[0].template.text"),
    (
        "buttons text over 60 with thumbnail",
        [buttons("a" * 61, thumbnailImageUrl="https://example.com/a.png")],
        "messages[0].template.text",
    ),
    ("buttons title over 40", [buttons(title="t" * 41)], "messages[0].template.title"),
    ("buttons with 5 actions", [buttons(actions=[postback()] * 5)], "messages[0].template.actions"),
    ("buttons with no action", [buttons(actions=[])], "messages[0].template.actions"),
    ("confirm text over 240", [confirm("a" * 241)], "messages[0].template.text"),
    ("confirm with 3 actions", [confirm(actions=[postback()] * 3)], "messages[0].template.actions"),
    ("confirm with 1 action", [confirm(actions=[postback()])], "messages[0].template.actions"),
    (
        "postback data over 300",
        [buttons(actions=[postback(data="d" * 301)])],
        "messages[0].template.actions[0].data",
    ),
    (
        "postback without data",
        [buttons(actions=[{"type": "postback", "label": "OK"}])],
        "messages[0].template.actions[0].data",
    ),
    (
        "template label over 20",
        [buttons(actions=[postback(label="l" * 21)])],
        "messages[0].template.actions[0].label",
    ),
    (
        "template action without label",
        [buttons(actions=[{"type": "postback", "data": "a=1"}])],
        "messages[0].template.actions[0].label",
    ),
    (
        "displayText over 300",
        [buttons(actions=[postback(displayText="d" * 301)])],
        "messages[0].template.actions[0].displayText",
    ),
    (
        "postback text together with displayText",
        [buttons(actions=[postback(text="a", displayText="b")])],
        "messages[0].template.actions[0].displayText",
    ),
    (
        "message action text over 300",
        [buttons(actions=[{"type": "message", "label": "OK", "text": "t" * 301}])],
        "messages[0].template.actions[0].text",
    ),
    (
        "uri action without uri",
        [buttons(actions=[{"type": "uri", "label": "Open"}])],
        "messages[0].template.actions[0].uri",
    ),
    (
        "unknown action type",
        [buttons(actions=[{"type": "teleport", "label": "Go"}])],
        "messages[0].template.actions[0].type",
    ),
    ("quick reply with 14 items", [with_quick_reply(14)], "messages[0].quickReply.items"),
    (
        "quick reply label over 20",
        [with_quick_reply(1, label="l" * 21)],
        "messages[0].quickReply.items[0].action.label",
    ),
    ("flex altText over 1500", [flex(bubble(text()), alt="a" * 1501)], "messages[0].altText"),
    ("flex without contents", [{"type": "flex", "altText": "x"}], "messages[0].contents"),
    ("flex bubble over 30 KB", [flex(bubble(*[BIG_TEXT] * 16))], "messages[0].contents"),
    (
        "flex carousel of 13 bubbles",
        [flex({"type": "carousel", "contents": [bubble(text())] * 13})],
        "messages[0].contents.contents",
    ),
    (
        "flex carousel over 50 KB",
        [flex({"type": "carousel", "contents": [bubble(*[BIG_TEXT] * 9)] * 3})],
        "messages[0].contents",
    ),
    (
        "flex box without layout",
        [flex(bubble({"type": "box", "contents": []}))],
        "messages[0].contents.body.contents[0].layout",
    ),
    (
        "flex box without contents",
        [flex(bubble({"type": "box", "layout": "vertical"}))],
        "messages[0].contents.body.contents[0].contents",
    ),
    (
        "flex text without text or contents",
        [flex(bubble({"type": "text"}))],
        "messages[0].contents.body.contents[0].text",
    ),
    (
        "flex button without action",
        [flex(bubble({"type": "button"}))],
        "messages[0].contents.body.contents[0].action",
    ),
    (
        "flex button label over 40",
        [flex(bubble({"type": "button", "action": postback(label="l" * 41)}))],
        "messages[0].contents.body.contents[0].action.label",
    ),
    (
        "flex image without url",
        [flex(bubble({"type": "image"}))],
        "messages[0].contents.body.contents[0].url",
    ),
    (
        "unknown flex component",
        [flex(bubble({"type": "marquee", "text": "hi"}))],
        "messages[0].contents.body.contents[0].type",
    ),
    (
        "unknown flex container",
        [flex({"type": "scroll", "contents": []})],
        "messages[0].contents.type",
    ),
]


@pytest.mark.parametrize(("messages", "prop"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_it_refuses_a_push_over_lines_limits_and_sends_nothing(raw, platform, world, messages, prop):
    response = raw("POST", "/v2/bot/message/push", {"to": world.group_id, "messages": messages})

    assert response.status == 400
    details = response.body["details"]
    assert response.body["message"] == f"The request body has {len(details)} error(s)"
    assert prop in [d["property"] for d in details]
    assert all(d["message"] for d in details)
    assert platform.timeline(world.group_id) == []
    assert platform.usage()["total"] == 0


def test_it_applies_the_same_limits_to_replies(raw, platform, world):
    token = platform.send_text(world.group_id, world.taro, "hi")["event"]["replyToken"]
    bad = raw("POST", "/v2/bot/message/reply", {"replyToken": token, "messages": [text("")]})
    assert bad.status == 400
    assert bad.body["details"] == [{"message": "May not be empty", "property": "messages[0].text"}]
    # A rejected body does not use up the token.
    assert raw("POST", "/v2/bot/message/reply", {"replyToken": token, "messages": [text()]}).status == 200


VALID = [
    ("five messages", [text()] * 5),
    ("text of exactly 5000", [text("a" * 5000)]),
    ("2500 emoji = 5000 utf-16 units", [text("😀" * 2500)]),
    ("buttons at every limit", [buttons("a" * 60, title="t" * 40, actions=[postback("l" * 20)] * 4)]),
    ("buttons text 160 without title", [buttons("a" * 160)]),
    ("confirm at its limits", [confirm("a" * 240)]),
    ("20-grapheme label of ZWJ emoji", [buttons(actions=[postback("👨\u200d👩\u200d👧" * 20)])]),
    ("postback data of exactly 300", [buttons(actions=[postback(data="d" * 300, displayText="d" * 300)])]),
    ("quick reply of 13", [with_quick_reply(13)]),
    (
        "flex with every component kind",
        [
            flex(
                bubble(
                    {"type": "text", "contents": [{"type": "span", "text": "Safe?"}]},
                    {"type": "separator"},
                    {"type": "filler"},
                    {
                        "type": "box",
                        "layout": "baseline",
                        "contents": [{"type": "icon", "url": "https://example.com/i.png"}],
                    },
                    {"type": "image", "url": "https://example.com/a.png"},
                    {"type": "button", "action": postback("l" * 40)},
                    {
                        "type": "video",
                        "url": "https://example.com/v.mp4",
                        "previewUrl": "https://example.com/p.png",
                        "altContent": {"type": "image", "url": "https://example.com/p.png"},
                    },
                )
            )
        ],
    ),
    ("flex carousel of 12", [flex({"type": "carousel", "contents": [bubble(text())] * 12})]),
]


@pytest.mark.parametrize("messages", [c[1] for c in VALID], ids=[c[0] for c in VALID])
def test_it_accepts_messages_right_at_the_limits(raw, platform, world, messages):
    response = raw("POST", "/v2/bot/message/push", {"to": world.group_id, "messages": messages})
    assert response.status == 200, response.body
    assert len(response.body["sentMessages"]) == len(messages)
    assert len(platform.timeline(world.group_id)) == len(messages)


def test_it_accepts_rich_check_in_messages_built_with_the_sdk(api, platform, world, timeout):
    buttons_message = TemplateMessage(
        alt_text="安否確認",
        template=ButtonsTemplate(
            title="安否確認",
            text="ご無事ですか？",
            actions=[
                PostbackAction(label="無事", data="c=1&s=safe", display_text="無事です"),
                PostbackAction(label="助けが必要", data="c=1&s=help", display_text="助けが必要です"),
            ],
        ),
        quick_reply=QuickReply(
            items=[QuickReplyItem(action=PostbackAction(label="無事", data="c=1&s=safe"))]
        ),
    )
    confirm_message = TemplateMessage(
        alt_text="確認",
        template=ConfirmTemplate(
            text="OK?",
            actions=[PostbackAction(label="はい", data="y"), PostbackAction(label="いいえ", data="n")],
        ),
    )
    flex_message = FlexMessage(
        alt_text="安否確認",
        contents=FlexContainer.from_json(
            json.dumps(
                bubble(
                    {"type": "text", "text": "ご無事ですか？", "wrap": True, "size": "lg"},
                    {"type": "button", "style": "primary", "action": postback("無事です")},
                )
            )
        ),
    )
    response = api.push_message(
        PushMessageRequest(
            to=world.group_id,
            messages=[buttons_message, confirm_message, flex_message, TextMessage(text="🙏")],
        ),
        _request_timeout=timeout,
    )
    assert len(response.sent_messages) == 4
    sent = [i["message"] for i in platform.timeline(world.group_id)]
    assert sent[0]["template"]["actions"][0]["displayText"] == "無事です"
    assert sent[2]["contents"]["body"]["contents"][1]["action"]["data"] == "a=1"


def test_it_validates_message_objects_through_the_validate_endpoint(raw, platform, world):
    ok = raw("POST", "/v2/bot/message/validate/push", {"messages": [text()]})
    bad = raw("POST", "/v2/bot/message/validate/reply", {"messages": [text("")]})
    assert (ok.status, ok.body) == (200, {})
    assert bad.status == 400
    assert platform.timeline(world.group_id) == []


def test_it_builds_lines_error_body_from_details():
    details = validate_messages([text(""), {"type": "hologram"}])
    assert error_body(details) == {
        "message": "The request body has 2 error(s)",
        "details": [
            {"message": "May not be empty", "property": "messages[0].text"},
            {
                "message": (
                    "Must be one of the following values: [text, textV2, sticker, image, video, "
                    "audio, location, imagemap, template, flex, coupon]"
                ),
                "property": "messages[1].type",
            },
        ],
    }
    assert validate_messages([text()]) == []
