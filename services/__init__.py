"""State changes: every change to what the service knows happens here, in one
transaction with the messages it causes (written to the outbox).  Called by
bot/ (events from LINE), jobs/ (time) and web/ (operators); imports only
domain/, messages/ and models."""
