"""Names of the zswap-level properties checked inside steps.

The runtime names the lifetime faults it detects itself (zmodel.runtime.faults);
these are the ones only the zswap world can judge.  zmodel.properties documents
every name; scripts match on them, so they never change.
"""

STALE_DATA = "stale-data"
DATA_LOSS = "data-loss"
REFCOUNT = "refcount"
TREE_CORRUPTION = "tree-corruption"
