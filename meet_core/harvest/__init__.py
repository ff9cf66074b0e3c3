"""Harvesting Meet: what Google knows about meetings, brought into the database.

* :mod:`~meet_core.harvest.watchlist`: which meetings to ask Google about, and when;
* :mod:`~meet_core.harvest.snapshot`: read one meeting's conferences (no database);
* :mod:`~meet_core.harvest.apply`: write a snapshot in one short transaction (records,
  participants, sessions, manifest rows, the meeting's status);
* :mod:`~meet_core.harvest.attendance`: the invited people's attendance, from what was
  harvested.
"""
