"""Work left on the officers' desks after the demo: vouchers held for review and, when
approval is manual, registrations waiting, so that a person opening the workspace has work."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from shared.contract import encode
from stack.demo import Demo

# Amounts at or above the review threshold (1 billion VND by default): held for an officer.
HELD_AMOUNTS = (1_150_000_000, 1_480_000_000, 2_200_000_000, 3_750_000_000)


async def leave_work(
    demo: Demo, *, vouchers_per_office: int = 6, registrations: int = 3
) -> dict[str, int]:
    """Send the held vouchers and waiting registrations; the demo's officers are gone by
    now, so they stay for a person. Returns how many of each were sent."""
    producer = AIOKafkaProducer(bootstrap_servers=demo.at.bootstrap, acks="all")
    await producer.start()
    sent = {"vouchers": 0, "registrations": 0}
    try:
        offices = sorted({u.treasury_code for u in demo.units})
        # Every tenth demo unit has a small budget (Demo.setup): its large vouchers would be
        # refused at once, so they are not the ones left for review.
        funded = [u for i, u in enumerate(demo.units) if i % 10 != 9]
        for i in range(vouchers_per_office * len(offices)):
            unit = funded[i % len(funded)]
            amount = HELD_AMOUNTS[i % len(HELD_AMOUNTS)]
            envelope = unit.voucher(total_amount=amount)
            await producer.send_and_wait(
                demo.at.topics.vouchers, encode(envelope), key=unit.code.encode()
            )
            sent["vouchers"] += 1
        if demo.at.approval == "manual":
            for i in range(registrations):
                unit = demo.bed.unit(treasury_code=offices[i % len(offices)])
                await producer.send_and_wait(
                    demo.at.topics.registrations,
                    encode(unit.registration()),
                    key=unit.code.encode(),
                )
                sent["registrations"] += 1
    finally:
        await producer.stop()
    return sent
