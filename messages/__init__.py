"""Every word a user reads, as LINE message objects: one catalogue module per
audience (group members, command replies, earthquakes, organisations, the
one-to-one chat), built from the pieces in ``flex``.  Pure: imports only
``domain``.  See ``i18n`` for how texts are written and translated."""
