"""The engines on wide programs: 3 to 5 threads of up to 4 operations each.

specs() keeps its programs small (at most 400 schedules, 2 to 4 threads of up to
3 operations), and 5,000 of them never hit NEEDS["other outcome"], a four-thread
program whose lost trace needs a choice below a value-dependent step.  The wide
generator (programs.py: wide_specs) draws more threads and operations, mostly
value-dependent steps, choices, awaits and writes of ``acc``, up to 3,000
schedules.  Every oracle the suites have runs on them: every trace plain
enumeration runs is run by the stateless engines (test_trace_coverage.py), the
end states and violations of stateless and cached source-DPOR (test_dpor.py),
of the default engine on both sides of its choice and with an evicting cache
(test_default_engine.py) and of cached DFS (test_dfs.py), and the parallel
search against plain enumeration and the serial engine (test_parallel.py).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.explore.programs import Spec, wide_specs
from tests.explore.test_default_engine import _tiny_cache, check_default
from tests.explore.test_dfs import check_cache
from tests.explore.test_dpor import _settings, check_unbounded
from tests.explore.test_parallel import check as check_parallel
from tests.explore.test_trace_coverage import STATELESS, lost

#: About half a second each for every serial oracle, a tenth for one parallel search.
DEFAULT_PROGRAMS = 12
HEAVY_PROGRAMS = 600
PARALLEL_PROGRAMS = 25
HEAVY_PARALLEL_PROGRAMS = 1500


def check_wide(spec: Spec, logs: bool) -> None:
    for kind in STATELESS:
        assert lost(spec, kind) == 0, kind
    check_unbounded(spec, logs)
    check_default(spec, logs)
    check_cache(spec, None)


PARALLEL_KINDS = st.sampled_from(["odpor", "dpor", "dpor-cached", "default"])
TARGETS = st.sampled_from([2, 8, 64])


@_settings(DEFAULT_PROGRAMS)
@given(spec=wide_specs(), logs=st.booleans())
def test_wide_programs(spec: Spec, logs: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    _tiny_cache(monkeypatch)
    check_wide(spec, logs)


@_settings(HEAVY_PROGRAMS)
@given(spec=wide_specs(), logs=st.booleans())
def test_wide_programs_many(spec: Spec, logs: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    _tiny_cache(monkeypatch)
    check_wide(spec, logs)


@_settings(PARALLEL_PROGRAMS)
@given(wide_specs(), PARALLEL_KINDS, TARGETS)
def test_wide_programs_in_parallel(spec: Spec, kind: str, target: int) -> None:
    check_parallel(spec, kind, target)


@_settings(HEAVY_PARALLEL_PROGRAMS)
@given(wide_specs(), PARALLEL_KINDS, TARGETS)
def test_wide_programs_in_parallel_many(spec: Spec, kind: str, target: int) -> None:
    check_parallel(spec, kind, target)
