"""The ``heavy`` tests: full rigour, outside the default run (CI runs them, ``.ci/run``).

``pytest -n auto`` (the README's command) runs everything but these and the
``slow`` tests; ``pytest -n auto -m heavy`` runs these.  Nothing here changes
a test: the list only says where each one runs.  It holds the tests measured at
about 25 s or more (``pytest -n auto --durations=40`` on the 2-core CI
machine): the differential and mutation suites of the engines (2,000 generated
programs each), the document and README-table checks that run whole suites, and
the largest exhaustive searches of the property suites.  A test that moves or
is renamed falls back into the default run, never out of every run.
"""

from __future__ import annotations

import pytest

from zmodel.engine_build import compiled_modules

#: Per test file, the heavy tests in it (a name alone covers all its parameters).
HEAVY: dict[str, tuple[str, ...]] = {
    # The engines' differential suites (DPOR, optimal DPOR, cached DFS against
    # plain enumeration on 2,000 generated programs) and the mutation tests that
    # must break them.
    "tests/explore/test_dpor.py": (
        "test_dpor_matches_plain_enumeration",
        "test_bounded_dpor_matches_bounded_enumeration",
        "test_a_broken_dependency_rule_is_caught",
        "test_ignoring_enabling_and_disabling_is_caught",
        "test_a_cache_without_summaries_is_caught",
        "test_a_summary_without_its_fallback_is_caught",
    ),
    "tests/explore/test_optimal_dpor.py": ("test_optimal_dpor_matches_plain_enumeration",),
    "tests/explore/test_odpor_halting_restart.py": (
        "test_optimal_dpor_matches_plain_enumeration_on_halting_programs",
    ),
    "tests/explore/test_default_engine.py": (
        "test_the_default_engine_matches_plain_enumeration",
        "test_an_eviction_that_keeps_the_state_without_its_summary_is_caught",
    ),
    "tests/explore/test_dfs.py": ("test_cached_dfs_matches_plain_dfs",),
    # The parallel search against plain enumeration (2,000 programs), and the issue's
    # three-thread scenario on 1 and 2 jobs and a LocalCluster.
    "tests/explore/test_parallel.py": ("test_parallel_matches_plain_enumeration",),
    "tests/explore/test_many.py": ("test_many_searches_match_the_serial_engines_thorough",),
    "tests/test_parallel_cli.py": ("test_the_issues_scenario_on_two_jobs_and_on_a_cluster",),
    "tests/analysis/test_lock_order.py": (
        "test_the_lock_order_graph_matches_plain_enumeration",
        "test_a_search_that_misses_acquisitions_is_caught",
    ),
    "tests/explore/test_value_dependent.py": ("test_the_generator_catches_a_stale_footprint",),
    "tests/explore/test_static_footprints.py": (
        "test_the_generator_catches_a_call_taken_as_static",
    ),
    "tests/explore/test_hypothesis_engine.py": (
        "test_state_machine_failure_is_a_plain_scenario_and_schedule",
    ),
    # Whole suites behind documents: every command of seed-questions.md, the
    # README's "What it finds" table.
    "tests/test_seed_questions.py": ("test_every_command_of_the_document",),
    "tests/test_what_it_finds.py": ("test_the_readme_table_is_regenerated_from_a_run",),
    # The largest exhaustive searches.
    "tests/zswap/designs/test_zswap_311.py": (
        "test_writeback_of_a_superseded_entry_leaves_stale_data_in_the_swap_cache",
    ),
    "tests/analysis/test_reclaim_cost.py": (
        "test_the_unpinned_reclaim_can_claim_a_frame_it_did_not_free",
    ),
    "tests/explore/test_trace_coverage.py": ("test_every_trace_is_run_many",),
    # Work stealing against plain enumeration on 1,500 programs, gifts after every few runs.
    "tests/explore/test_donate.py": ("test_gifts_lose_nothing_many",),
    # Every oracle on 600 wide programs (3 to 5 threads, up to 3,000 schedules), and the
    # parallel search on 1,500.
    "tests/explore/test_wide_programs.py": (
        "test_wide_programs_many",
        "test_wide_programs_in_parallel_many",
    ),
    "properties/test_exhaustive_suites.py": tuple(
        f"test_default_suite_verdict[{case}]"
        for case in (
            "zswap-3.11/writeback-vs-restore",
            "zswap-3.11-leakfix/writeback-vs-restore",
            "zswap-3.13/writeback-vs-restore",
            "zswap-6.8/two-slots-writeback",
            "zswap-2013/swapoff-vs-writeback",
            "zswap-3.11/swapoff-vs-writeback",
            "zswap-3.11-leakfix/swapoff-vs-writeback",
            "zswap-3.13/swapoff-vs-writeback",
            "q1-unlocked-int/load-vs-writeback",
            "zswap-zsmalloc/writeback-vs-store",
        )
    ),
}


def is_heavy(nodeid: str) -> bool:
    """Whether ``nodeid`` (``file::test[params]``) is listed."""
    path, _, test = nodeid.partition("::")
    return any(test == name or test.startswith(name + "[") for name in HEAVY.get(path, ()))


#: A compiled build (zmodel/engine_build.py): calls inside a compiled module do not see a
#: monkeypatched name, so the mutation tests that patch one run on the pure build only.
COMPILED = bool(compiled_modules())
_PURE_ONLY = pytest.mark.skip(reason="patches a compiled module's internals: run on the pure build")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if is_heavy(item.nodeid):
            item.add_marker(pytest.mark.heavy)
        if COMPILED and item.get_closest_marker("pure_python") is not None:
            item.add_marker(_PURE_ONLY)
