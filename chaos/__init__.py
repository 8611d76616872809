"""`make chaos`: the whole pipeline under every fault at once, with its promises counted.

A seeded run starts a stack of its own, offers a mixed stream of vouchers while a printed
fault schedule kills and restarts the services, the broker, the database, the SMTP server
and a portal's webhook, then counts from the outside what a treasury cares about: every
count in `chaos/out/result.json` must be zero. `CHAOS_SEED` repeats a run exactly.
"""
