"""What the bot answers to commands typed in a group: the usage, the
replies of each command, refusals.  Members and leaders read these."""

from __future__ import annotations

from domain.names import clean_name
from messages.flex import names, shown, text
from messages.i18n import N_, _

# name -> (how it is typed, one line for /ヘルプ).  N_: translated when shown.
USAGE: dict[str, tuple[str, str]] = {
    "help": (N_("/ヘルプ"), N_("使い方を表示します")),
    "name": (N_("/名前 山田花子"), N_("呼び名を登録します")),
    "quit": (N_("/退会"), N_("参加をやめます")),
    "status": (N_("/状況"), N_("いまの確認の様子を表示します")),
    "leader": (N_("/リーダー"), N_("リーダーになります（指名は /リーダー お名前）")),
    "schedule": (
        N_("/設定 毎日 9:00"),
        N_("確認の時間を決めます（毎朝9時、平日 8:00 も。お名前をリーダーだけに：/設定 名前 リーダーだけ）"),
    ),
    "check": (N_("/確認"), N_("いますぐ確認します")),
    "pause": (N_("/停止"), N_("定期の確認を止めます")),
    "resume": (N_("/再開"), N_("定期の確認を再開します")),
    "notice": (N_("/お知らせ 本文"), N_("グループにお知らせします")),
    "area": (
        N_("/地域 厚木市"),
        N_("地震のときに無事を確認する地域を決めます（震度も書けます：/地域 厚木市 震度4）"),
    ),
    "drill": (N_("/訓練"), N_("地震のときの確認を練習します")),
    "roster": (
        N_("/名簿 追加 高橋ウメ"),
        N_("LINEを使っていない方を確認の名簿に入れます（/名簿 で一覧、/名簿 削除 お名前）"),
    ),
    "away": (
        N_("/お休み 12月5日まで"),
        N_("入院や旅行のあいだ、確認をお休みします（/お休み 3日、/お休み おわり）"),
    ),
    "age": (N_("/年代 70代"), N_("年代を登録します（任意。団体の統計に人数だけ使います。/年代 消す）")),
    "sex": (
        N_("/性別 女性"),
        N_("性別を登録します（任意。女性・男性・その他・答えない。/性別 消す）"),
    ),
    "organisation": (
        N_("/団体 連携コード"),
        N_("グループを市役所・社会福祉協議会などの団体とつなぎます（/団体 解除 でやめます）"),
    ),
    "language": (N_("/言語 English"), N_("ことばを選びます（日本語・やさしい日本語・English）")),
}


def usage_of(name: str) -> str:
    return _(USAGE[name][0])


def help_text(
    member_commands: list[str], leader_commands: list[str] | None, no_leader_yet: bool
) -> list[dict]:
    """/ヘルプ: the member commands, and the leader commands for a leader."""
    lines = [_("【つながりの使い方】"), _("確認のお知らせが来たら、OKを押すだけです。"), ""]
    lines += [f"{_(USAGE[n][0])}\n　{_(USAGE[n][1])}" for n in member_commands]
    if leader_commands is not None:
        lines += ["", _("【リーダーの方】")]
        lines += [f"{_(USAGE[n][0])}\n　{_(USAGE[n][1])}" for n in leader_commands]
    elif no_leader_yet:
        lines += ["", _("まとめ役の方は「/リーダー」と送るとリーダーになれます。")]
    return [text("\n".join(lines))]


def refusal(command_name: str, leader_names: list[str]) -> list[dict]:
    """A leader-only command (or button) from someone who is not a leader."""
    word = usage_of(command_name).split()[0]
    who = _("リーダー（{names}）").format(names=names(leader_names)) if leader_names else _("リーダー")
    body = _("「{word}」は{who}の方だけが使えます。ごめんなさい。").format(word=word, who=who)
    if not leader_names:
        body += "\n" + _("まだリーダーがいません。まとめ役の方は「/リーダー」と送ってください。")
    return [text(body)]


# -- /名前 -------------------------------------------------------------------
def name_missing() -> list[dict]:
    return [text(_("お名前を続けて送ってください。\n例：/名前 山田花子"))]


def name_invalid(limit: int) -> list[dict]:
    return [text(_("お名前は{limit}文字までで送ってください。\n例：/名前 山田花子").format(limit=limit))]


def name_set(name: str) -> list[dict]:
    return [text(_("これから「{name}さん」とお呼びします。").format(name=shown(name)))]


# -- /退会 -------------------------------------------------------------------
def not_joined() -> list[dict]:
    return [text(_("まだ参加されていません。"))]


def quit_done(name: str) -> list[dict]:
    return [
        text(
            _(
                "{name}さんの参加をやめました。つながりが覚えていたお名前も消しました。"
                "また参加するときは「参加する」を押してください。"
            ).format(name=shown(name))
        )
    ]


# -- /リーダー ----------------------------------------------------------------
def already_leader() -> list[dict]:
    return [text(_("すでにリーダーです。"))]


def leaders_are(leader_names: list[str]) -> list[dict]:
    return [
        text(
            _("リーダーは{names}です。リーダーの方から「/リーダー お名前」で指名してもらえます。").format(
                names=names(leader_names)
            )
        )
    ]


def became_leader(name: str) -> list[dict]:
    return [
        text(
            _(
                "{name}さんがリーダーになりました。\n"
                "ほかの方がよいときは、{name}さんから「/リーダー 交代 お名前」で交代できます。\n"
                "確認の時間を決めてください。例：/設定 毎日 9:00\n"
                "使い方は「/ヘルプ」で見られます。"
            ).format(name=shown(name))
        )
    ]


def leader_usage() -> list[dict]:
    return [
        text(
            _(
                "リーダーの方は、次のように送れます。\n"
                "/リーダー お名前（リーダーを増やす）\n"
                "/リーダー 交代 お名前（リーダーを交代する）\n"
                "/リーダー 辞める（リーダーをやめる）"
            )
        )
    ]


def stepped_down(name: str, leaders_left: list[str]) -> list[dict]:
    body = _("{name}さんはリーダーをやめました。").format(name=shown(name))
    if leaders_left:
        body += _("リーダーは{names}です。").format(names=names(leaders_left))
    return [text(body)]


def handed_over(old: str, new: str) -> list[dict]:
    return [
        text(
            _("リーダーを{old}さんから{new}さんに交代しました。{new}さん、よろしくお願いします。").format(
                old=shown(old), new=shown(new)
            )
        )
    ]


def leaderless() -> list[dict]:
    """The group's last leader left: ask the group, kindly, who will take it."""
    return [
        text(
            _(
                "このグループのリーダーがいなくなりました。"
                "まとめ役をお願いできる方は「/リーダー」と送ってください。"
                "それまでも、決まった時間の確認は続きます。"
            )
        )
    ]


def member_not_found(wanted: str) -> list[dict]:
    return [
        text(
            _("「{wanted}」さんが見つかりません。参加済みの方だけ指名できます。").format(
                wanted=clean_name(wanted)
            )
        )
    ]


def member_ambiguous(wanted: str) -> list[dict]:
    return [
        text(
            _("「{wanted}」さんが複数います。/名前 で呼び名を変えてから指名してください。").format(
                wanted=clean_name(wanted)
            )
        )
    ]


def is_already_leader(name: str) -> list[dict]:
    return [text(_("{name}さんはすでにリーダーです。").format(name=shown(name)))]


def appointed(name: str) -> list[dict]:
    return [text(_("{name}さんをリーダーにしました。").format(name=shown(name)))]


# -- /状況 -------------------------------------------------------------------
def status(lines: list[str]) -> list[dict]:
    return [text("\n".join([_("【いまの状況】"), *lines]))]


def status_schedule(described: str, paused: bool) -> str:
    return _("確認の予定：{when}").format(when=described) + (_("（停止中）") if paused else "")


def status_next(when: str) -> str:
    return _("次の確認：{when}").format(when=when)


def status_no_schedule() -> str:
    return _("確認の予定：まだ決まっていません")


def status_round(
    ok: int, help_count: int, waiting: int, summary_at: str, away: int = 0, offline: int = 0, label: str = ""
) -> str:
    """One open round's counts: OK + 助けが必要 + まだ + お休み add up to the
    registered; the 名簿 without LINE is counted beside them."""
    helped = _("・助けが必要 {count}人").format(count=help_count) if help_count else ""
    rest = _("・お休み {count}人").format(count=away) if away else ""
    if offline:
        rest += _("・LINEなしの方 {count}人").format(count=offline)
    return label + _("いまの確認：OK {ok}人{helped}・まだ {waiting}人{rest}（{when}にまとめます）").format(
        ok=ok, helped=helped, waiting=waiting, rest=rest, when=summary_at
    )


def status_members(count: int, offline: int = 0) -> str:
    line = _("参加している方：{count}人").format(count=count)
    if offline:
        line += _("（ほかにLINEなしの方 {count}人）").format(count=offline)
    return line


def status_not_joined(count: int) -> str:
    return _("まだ参加していない方：{count}人（「参加する」を押すと、確認の数に入ります）").format(
        count=count
    )


def status_follow_ups(waiting: int, going: int, unreachable: int) -> str:
    parts = []
    if waiting:
        parts.append(_("まだどなたも向かっていない方 {count}人").format(count=waiting))
    if going:
        parts.append(_("確認に向かっている方 {count}人").format(count=going))
    if unreachable:
        parts.append(_("連絡がつかない方 {count}人").format(count=unreachable))
    return _("お声がけ：") + _("・").join(parts)


def status_names_to_leaders() -> str:
    return _("まとめのお名前：リーダーの方だけにお送りしています")


def status_usage(used: int) -> str:
    """For leaders only: what this group's pushes cost this month."""
    return _("このグループへの今月のメッセージ数：{used}通（リーダーの方だけに表示しています）").format(
        used=used
    )


# -- /設定 /停止 /再開 ---------------------------------------------------------
def schedule_unknown(examples: tuple[str, ...]) -> list[dict]:
    return [
        text(_("確認の時間がわかりませんでした。次のように送ってください。") + "\n" + "\n".join(examples))
    ]


def schedule_set(described: str, next_at: str) -> list[dict]:
    return [
        text(
            _("確認の予定を「{when}」にしました。\n次の確認は{next}です。").format(
                when=described, next=next_at
            )
        )
    ]


def already_paused() -> list[dict]:
    return [text(_("すでに停止しています。再開するときは「/再開」と送ってください。"))]


def paused() -> list[dict]:
    return [text(_("定期の確認を停止しました。再開するときは「/再開」と送ってください。"))]


def no_schedule_yet() -> list[dict]:
    return [text(_("まだ確認の予定がありません。\n例：/設定 毎日 9:00"))]


def not_paused() -> list[dict]:
    return [text(_("定期の確認は動いています。"))]


def resumed(next_at: str) -> list[dict]:
    return [text(_("定期の確認を再開しました。次の確認は{next}です。").format(next=next_at))]


# -- /確認 /訓練 -------------------------------------------------------------
def round_in_progress(summary_at: str) -> list[dict]:
    return [text(_("いま確認中です。{when}にまとめます。").format(when=summary_at))]


def drill_waits(summary_at: str) -> list[dict]:
    return [
        text(_("いま確認中です。{when}にまとめます。訓練はそのあとでお願いします。").format(when=summary_at))
    ]


# -- /お知らせ ----------------------------------------------------------------
def notice_missing() -> list[dict]:
    return [text(_("お知らせの本文を続けて送ってください。\n例：/お知らせ 明日は防災訓練です"))]


def notice_too_long(limit: int, over: int, tail: str) -> list[dict]:
    """How much to cut, and where a first part could end."""
    return [
        text(
            _(
                "お知らせが長すぎます。LINEでは1通{limit}文字までなので、あと{over}文字短くしてください。\n"
                "分けて送るときは、1通目を「…{tail}」のところまでにしてください。"
            ).format(limit=limit, over=over, tail=tail)
        )
    ]


# -- もしかして -----------------------------------------------------------------
def suggestion(name: str) -> list[dict]:
    """A hiragana or near-miss command: the one it probably meant, with its usage."""
    typed, what = USAGE[name]
    word = _(typed).split()[0]
    return [
        text(
            _("もしかして「{word}」ですか？\n次のように送ってください。\n{usage}\n　{what}").format(
                word=word, usage=_(typed), what=_(what)
            )
        )
    ]


# -- /設定 名前 ------------------------------------------------------------------
def names_to_leaders_set(not_friends: list[str], how: str) -> list[dict]:
    body = _(
        "これからは、確認のまとめのお名前をリーダーの方だけにお送りします。グループには人数だけをお知らせします。"
    )
    if not_friends:
        body += "\n" + _(
            "{leaders}はまだ「つながり」と友だちになっていません。友だちになるまでは、"
            "これまでどおりグループにお名前をお送りします。"
        ).format(leaders=names(not_friends))
        body += "\n" + how
    return [text(body)]


def names_to_group_set() -> list[dict]:
    return [text(_("これからは、確認のまとめのお名前をグループのみなさんにお送りします。"))]


def names_usage() -> list[dict]:
    return [
        text(
            _(
                "まとめのお名前を誰に送るかを決めます。\n"
                "リーダーの方だけに：/設定 名前 リーダーだけ\n"
                "グループのみなさんに：/設定 名前 みんな\n"
                "つないだ団体の担当者にも見せる：/設定 名前 団体にも（やめるときは /設定 名前 団体に見せない）"
            )
        )
    ]


# -- /名簿 ----------------------------------------------------------------------
def roster(members: list[tuple[str, bool]], offline: list[str], not_joined: int | None) -> list[dict]:
    """/名簿: who is registered (leaders marked), the 名簿 without LINE, and
    how many of the LINE group have not joined."""
    lines = [_("【名簿】")]
    people = _("、").join(
        _("{name}さん").format(name=shown(name)) + (leader_mark() if leader else "")
        for name, leader in members
    )
    lines.append(_("参加している方（{count}人）：").format(count=len(members)) + (people or _("なし")))
    lines.append(
        _("LINEなしの方（{count}人）：").format(count=len(offline))
        + (_("、").join(_("{name}さん").format(name=shown(n)) for n in offline) or _("なし"))
    )
    if not_joined:
        lines.append(status_not_joined(not_joined))
    lines.append(_("LINEなしの方を入れる：/名簿 追加 お名前　外す：/名簿 削除 お名前"))
    return [text("\n".join(lines))]


def leader_mark() -> str:
    return _("（リーダー）")


def roster_added(name: str) -> list[dict]:
    return [
        text(
            _(
                "{name}さんを名簿に入れました。確認のまとめに「{name}さん（LINEなし）」とのせます。"
                "お電話やご訪問で確かめた方は、まとめのボタンから知らせてください。"
            ).format(name=shown(name))
        )
    ]


def roster_exists(name: str) -> list[dict]:
    return [text(_("{name}さんは、もう名簿に入っています。").format(name=shown(name)))]


def roster_removed(name: str) -> list[dict]:
    return [text(_("{name}さんを名簿から外しました。").format(name=shown(name)))]


def roster_not_found(name: str, offline: list[str]) -> list[dict]:
    body = _("「{name}」さんは名簿にいません。").format(name=shown(name))
    if offline:
        body += _("名簿のLINEなしの方：") + _("、").join(
            _("{name}さん").format(name=shown(n)) for n in offline
        )
    return [text(body)]


def roster_full(limit: int) -> list[dict]:
    return [text(_("名簿に入れられるのは{limit}人までです。").format(limit=limit))]


def roster_usage() -> list[dict]:
    return [
        text(
            _(
                "LINEを使っていない方を、確認の名簿に入れられます。\n"
                "入れる：/名簿 追加 高橋ウメ\n外す：/名簿 削除 高橋ウメ\n一覧：/名簿"
            )
        )
    ]


# -- /お休み ---------------------------------------------------------------------
def away_set(name: str, month: int, day: int) -> list[dict]:
    return [
        text(
            _(
                "{name}さん、{month}月{day}日までお休みですね。そのあいだの確認では「お休み中」とお伝えします。"
                "次の日から、自動でいつもの確認に戻ります（早く戻るときは「/お休み おわり」）。"
            ).format(name=shown(name), month=month, day=day)
        )
    ]


def away_ended(name: str) -> list[dict]:
    return [
        text(
            _("{name}さん、おかえりなさい。次の確認から、いつもどおりお聞きします。").format(name=shown(name))
        )
    ]


def away_not_set(name: str) -> list[dict]:
    return [text(_("{name}さんのお休みは入っていません。").format(name=shown(name)))]


def away_usage(unreadable: bool = False) -> list[dict]:
    head = _("いつまでお休みかがわかりませんでした。") if unreadable else ""
    return [
        text(
            head
            + _(
                "次のように送ってください。\n/お休み 12月5日まで\n/お休み 3日\n/お休み おわり（お休みをやめる）"
            )
        )
    ]
