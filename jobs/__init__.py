"""Background work: the sweep, and the idempotent jobs it enqueues."""
