"""The simulated shop behind the demo data: one simulator for ``generate`` and ``append``.

A shop (products, campaigns, counters) and a population of latent persons, each
following one of the personas in :mod:`segmentation.personas`, live through periods
(lo, hi]. ``generate`` creates the population in its first period (sign-ups spread over
the years before it and inside it) from an empty state; ``append`` loads the state the
previous run stored (:mod:`.state`) and simulates the next days for the same people plus
new sign-ups. Every period runs the same steps per chunk of persons (:mod:`.run`):
orders, e-mail, web sessions and events, then the table writers (:mod:`.writers`) with
the messiness rules (:mod:`.mess`).

Conventions of the data (see also docs/architecture.md, the raw contract):

* ``customers`` counts persons; ~3 % of them get a second customer record whose e-mail
  differs only by case and spaces (duplicate records, profile-update versions and broken
  rows make the customers table ~4 % longer).
* Line net amount = ``quantity * unit_price - discount``; partial-return lines have
  quantity -1 and carry the net unit price that was paid. The currency is
  ``writers.CURRENCY`` (EUR).
* Timestamps are naive UTC with second precision. Every row a period writes is loaded in
  it (received_at / updated_at / changed_at / sent_at in (lo, hi]); the first period also
  holds its population's history before lo. Nothing is after hi except the
  ``future_timestamp`` rows planted with the population, and the newest load timestamp
  of every table is within an hour of hi. What happens after hi (e-mail opens, order
  status changes, re-deliveries) stays pending in the state for the period it falls in.
* Broken rows are extra rows (copies of real rows with one defect and, except for null
  keys, a fresh key); they are never planted duplicates and broken orders have no lines.
* Ids are PREFIX + zero-padded number (:mod:`.ids`) and continue over the periods;
  anonymous_ids are a salted bijection of device numbers, so they never collide.

Everything is vectorised numpy; the output is a pure function of the state, the period,
the seed and the chunk size (byte-identical Parquet files for the same arguments).
"""
