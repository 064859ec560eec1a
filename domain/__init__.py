"""Pure domain logic: no Flask, no LINE, no database; time is passed in."""
