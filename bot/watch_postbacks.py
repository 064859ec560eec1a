"""Button taps in a one-to-one chat (見守り), dispatched through a table by
the decoded action, as group taps are (bot/postbacks.py's ``run_postback``
and ``PostbackSpec``).

Every button here is open to whoever has it in their chat (``Role.ANYONE``);
the data decides the rest: an OK counts only for the tapper's own watch, a
claim or an outcome only from a contact of that person, an end only from
either side of the link.  A forged tap changes nothing.
"""

from __future__ import annotations

from bot.context import EventContext
from bot.postbacks import PostbackSpec
from bot.watch_commands import answer_ok, reply_about, resume_watch, sender, start_schedule
from domain import postback as codec
from domain.watch import every_day_at
from messages import contacts as contact_messages
from messages import watch as say
from models import WatchCheck
from services import contacts, escalations
from services import watch as watches
from services.contacts import CodeResult, EndResult
from services.erase import erase_person
from services.escalations import Claim, Report


def on_start(ctx: EventContext, action: codec.StartWatch) -> None:
    ctx.reply(say.choose_time())


def on_time(ctx: EventContext, action: codec.ChooseWatchTime) -> None:
    today = ctx.now.astimezone(ctx.settings.tz).date()
    start_schedule(ctx, every_day_at(action.hour, action.minute, today))


def on_resume(ctx: EventContext, action: codec.ResumeWatch) -> None:
    resume_watch(ctx)


def on_ok(ctx: EventContext, action: codec.WatchOk) -> None:
    """OK on a check: counts only on the person's own check (a copied or
    forged button of someone else's does nothing)."""
    watch = watches.find_watch(sender(ctx))
    check = WatchCheck.get_or_none(WatchCheck.id == action.check_id)
    if watch is None or check is None or check.watch_id != watch.id:
        return
    answer_ok(ctx)


def on_become_contact(ctx: EventContext, action: codec.BecomeContact) -> None:
    outcome = contacts.accept(action.invitation_id, action.code, sender(ctx), ctx.now)
    ctx.queued.extend(outcome.rows)
    replies = {
        CodeResult.LINKED: lambda: contact_messages.linked(outcome.name),
        CodeResult.UNUSABLE: contact_messages.code_unusable,
        CodeResult.LOCKED: contact_messages.code_locked,
        CodeResult.OWN: contact_messages.own_code,
        CodeResult.ALREADY: lambda: contact_messages.already_contact(outcome.name),
        CodeResult.FULL: lambda: contact_messages.contacts_full(outcome.name),
    }
    reply_about(ctx, replies[outcome.result](), outcome.invitation.watch_id if outcome.invitation else None)


def on_claim(ctx: EventContext, action: codec.ClaimEscalation) -> None:
    answer = escalations.claim(action.escalation_id, sender(ctx), ctx.now)
    ctx.queued.extend(answer.rows)
    replies = {
        Claim.WON: lambda: contact_messages.claim_won(answer.name, answer.escalation_id),
        Claim.MINE: lambda: contact_messages.claim_won(answer.name, answer.escalation_id),
        Claim.TAKEN: lambda: contact_messages.claim_taken(answer.name, answer.claimer),
        Claim.CLOSED: lambda: contact_messages.claim_closed(answer.name),
        Claim.NOT_CONTACT: contact_messages.not_a_contact,
    }
    reply_about(ctx, replies[answer.result](), answer.watch_id)


def on_outcome(ctx: EventContext, action: codec.ReportOutcome) -> None:
    answer = escalations.report(action.escalation_id, sender(ctx), action.outcome, ctx.now)
    ctx.queued.extend(answer.rows)

    def thanks() -> list[dict]:
        return contact_messages.outcome_thanks(answer.name, answer.escalation_id, action.outcome)

    replies = {
        Report.RECORDED: thanks,
        Report.REPEATED: thanks,
        Report.NOT_CLAIMER: lambda: (
            contact_messages.claim_taken(answer.name, answer.claimer)
            if answer.claimer
            else contact_messages.not_claimer(answer.name)
        ),
        Report.CLOSED: lambda: contact_messages.claim_closed(answer.name),
        Report.NOT_CONTACT: contact_messages.not_a_contact,
    }
    reply_about(ctx, replies[answer.result](), answer.watch_id)


def on_end_contact(ctx: EventContext, action: codec.EndContact) -> None:
    outcome = contacts.end_link(action.contact_id, sender(ctx), ctx.now)
    ctx.queued.extend(outcome.rows)
    if outcome.result is EndResult.ENDED:
        reply_about(ctx, say.link_ended(outcome.other), outcome.watch_id)
    else:
        ctx.reply(say.link_already_gone())


def on_erase(ctx: EventContext, action: codec.ConfirmErase) -> None:
    """すべて消す: the answer is queued first, then everything about the
    person goes (including the LINE id on that answer: a reply needs only
    its token)."""
    person = sender(ctx)
    ctx.reply(say.erased())
    ctx.queued.extend(erase_person(person, ctx.now, keep=[row.id for row in ctx.queued]))
    ctx.person = None


ONE_TO_ONE_POSTBACKS: dict[type, PostbackSpec] = {
    codec.StartWatch: PostbackSpec(on_start),
    codec.ChooseWatchTime: PostbackSpec(on_time),
    codec.ResumeWatch: PostbackSpec(on_resume),
    codec.WatchOk: PostbackSpec(on_ok),
    codec.BecomeContact: PostbackSpec(on_become_contact),
    codec.ClaimEscalation: PostbackSpec(on_claim),
    codec.ReportOutcome: PostbackSpec(on_outcome),
    codec.EndContact: PostbackSpec(on_end_contact),
    codec.ConfirmErase: PostbackSpec(on_erase),
}
