"""``zswap-6.8-nopin``: 6.8 with do_swap_page's bypass before 13ddaf26be32 (6.7's fault).

Before 13ddaf26be32 ("mm/swap: fix race when skipping swapcache", 6.8) the
SWP_SYNCHRONOUS_IO fault read a slot with one user into a private folio with
nothing held on the entry: two faults on one pte could both bypass the swap
cache.  This design is zswap-6.8 with that pin taken out (``Design.
swapcache_bypass_pin``), so the commit's before/after pair is this design
against zswap-6.8 on the same scenarios (the rest of 6.7's zswap differs from
6.8's in ways these scenarios do not touch: one tree per type instead of
several, the same refcounting).

What the model finds without the pin, with ``swapcache_bypass=on``:
- two faults on the pte both read the slot; one maps its folio, frees the
  entry, and the page, changed, is swapped out to the same entry; the other's
  ``pte_same`` passes on the unchanged pte value (ABA) and it maps the old data
  (stale-data): the race 13ddaf26be32 describes;
- with ``exclusive_loads=on``, the first fault's zswap_load drops the entry, the
  second finds no entry and reads the device, which never had the data
  (data-loss).  This is the data loss on SWP_SYNCHRONOUS_IO devices that
  25cd241408a2 ("mm: zswap: fix data loss on SWP_SYNCHRONOUS_IO devices", 6.9)
  fixed in zswap_load by loading exclusively only into the swap cache; with the
  pin (zswap-6.8) the model finds no run that loses the data.
"""

from __future__ import annotations

from typing import ClassVar

from zmodel.zswap.designs.zswap_68 import Zswap68

BYPASS = "swapcache_bypass=on"

SUITE_68_NOPIN: tuple[tuple[str, str], ...] = (
    ("bypass-aba", f"{BYPASS} :: store 1 A :: load 1 | load 1; store 1 B"),
    ("bypass-exclusive", f"{BYPASS}, exclusive_loads=on :: store 1 A :: load 1 | load 1"),
    ("bypass-vs-free", f"{BYPASS} :: store 1 A :: load 1 | free 1"),
)


class Zswap68NoPin(Zswap68):
    name = "zswap-6.8-nopin"
    kernel = "6.8.1 without 13ddaf26be32"
    description = "6.8 whose SWP_SYNCHRONOUS_IO fault does not pin the entry (before 13ddaf26be32)"
    swapcache_bypass_pin = False
    suite = SUITE_68_NOPIN
    expected: ClassVar[dict[str, frozenset[str]]] = {
        # 13ddaf26be32 (6.8): the second fault's pte_same passes on the reused
        # entry; it maps the old data, or (it read the slot while the changed
        # page was being stored again) no data at all.
        "bypass-aba": frozenset({"stale-data", "data-loss"}),
        # 25cd241408a2 (6.9): an exclusive load into a private folio drops the copy.
        "bypass-exclusive": frozenset({"data-loss"}),
    }
    reach: ClassVar[dict[str, tuple[str, ...]]] = {}  # no pin, nothing to meet
