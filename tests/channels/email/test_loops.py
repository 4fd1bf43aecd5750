"""Robots through the whole inbound path: 0 automatic replies to the suppression fixtures, a
threaded reply to every human control, and an echo robot without RFC 3834 headers stopped at the
daily cap with staff alerted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from storage.tables import Conversation, Escalation
from storage.tables_email import EmailRecord
from tests.channels.email.conftest import mail

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


async def test_suppression_class_gets_no_reply_and_humans_get_threaded_ones(
    email_env: Any,
) -> None:
    from channels.email.inbound import EmailChannel

    # the fixtures share one sender: the daily cap (tested below) is lifted here
    services = email_env.services
    services.settings = services.settings.model_copy(
        update={"email_max_auto_replies_per_day": 1000}
    )
    channel = EmailChannel(services)
    outcomes = {}
    for name in sorted(EXPECTED):
        outcomes[name] = await channel.handle((FIXTURES / name).read_bytes())
    await email_env.deliver()
    robots = [n for n in EXPECTED if EXPECTED[n]["class"] == "suppress"]
    humans = [n for n in EXPECTED if EXPECTED[n]["class"] == "human"]
    assert all(outcomes[n].action == "suppress" for n in robots), {
        n: outcomes[n] for n in robots if outcomes[n].action != "suppress"
    }
    # each human control got one email, threaded on its own Message-ID
    answered = {s.message["In-Reply-To"]: s for s in email_env.sink.sent}
    replied = [n for n in humans if outcomes[n].action == "reply"]
    print(  # noqa: T201 - the figures, shown with -s
        f"\nrobots: {len(robots)} suppressed of {len(robots)}; emails sent: "
        f"{len(email_env.sink.sent)}; humans answered automatically {len(replied)}/{len(humans)}"
        f" (the rest held as drafts: {sorted({outcomes[n].reason for n in humans} - {''})})"
    )
    assert len(email_env.sink.sent) == len(replied)
    for name in replied:
        sent = answered[outcomes[name].message_id]
        assert sent.message["Auto-Submitted"] == "auto-replied"
        assert sent.message["Subject"].startswith("Re: ")
    assert all(outcomes[n].action in ("reply", "draft") for n in humans)
    assert len(replied) >= 0.9 * len(humans)
    # robots leave no conversation behind and no address
    async with email_env.services.sessions() as session:
        kept = (
            await session.execute(
                select(EmailRecord.address).where(EmailRecord.action == "suppress")
            )
        ).all()
        conversations = len((await session.scalars(select(Conversation.id))).all())
    assert kept and all(address is None for (address,) in kept)
    assert conversations == len(humans)


async def test_an_echo_robot_is_stopped_at_the_cap_and_staff_are_alerted(email_env: Any) -> None:
    """The robot answers every mail it gets, quoting it, with no RFC 3834 header at all."""
    robot = "Helpful Robot <desk@robot.test>"
    outcome = await email_env.channel.handle(
        mail("What is your return policy?", sender=robot, message_id="<echo0@robot.test>")
    )
    rounds = 0
    while outcome.action == "reply" and rounds < 20:
        await email_env.deliver()
        ours = email_env.sink.sent[-1].message
        rounds += 1
        outcome = await email_env.channel.handle(
            mail(
                "Thanks for your message! What is your return policy?",
                sender=robot,
                subject=ours["Subject"],
                message_id=f"<echo{rounds}@robot.test>",
                headers={"In-Reply-To": ours["Message-ID"], "References": ours["References"]},
            )
        )
    cap = email_env.services.settings.email_max_auto_replies_per_day
    assert len(email_env.sink.sent) == cap
    assert (outcome.action, outcome.reason) == ("suppress", "reply_cap")
    async with email_env.services.sessions() as session:
        alerts = (await session.scalars(select(Escalation).where(Escalation.kind == "alert"))).all()
    assert [a.reason for a in alerts] == ["email_reply_cap"]
    # the robot's next mail is suppressed too, and no second alert is raised
    again = await email_env.channel.handle(
        mail("Still there?", sender=robot, message_id="<echo-late@robot.test>")
    )
    assert again.reason == "reply_cap"
    await email_env.deliver()
    assert len(email_env.sink.sent) == cap
