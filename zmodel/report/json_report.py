"""The ``--json`` object of design.md, exactly: scripts parse it."""

from __future__ import annotations

import json
from typing import Any

from zmodel.check import CheckReport, ScenarioCheck
from zmodel.properties.lock_order import LOCK_ORDER


def scenario_json(check: ScenarioCheck) -> dict[str, Any]:
    stats = check.result.stats
    return {
        "scenario": check.spec.scenario.text,
        "verdict": check.verdict,
        "violations": [
            {
                "property": saved.found.prop,
                "message": saved.found.message,
                "counterexample": str(saved.path),
            }
            for saved in check.saved
        ]
        + [
            {"property": LOCK_ORDER, "message": cycle.message(), "counterexample": None}
            for cycle in check.lock_cycles
        ],
        "stats": {
            "executions": stats.executions,
            "cut": stats.cut,
            "transitions": stats.transitions,
            "distinct_states": stats.distinct_states,
            "seconds": round(stats.seconds, 6),
        },
    }


def check_json(report: CheckReport) -> dict[str, Any]:
    """design.md's object; an interrupted check adds ``"interrupted": true``."""
    obj: dict[str, Any] = {
        "verdict": report.verdict,
        "design": report.design_cls.name,
        "scenarios": [scenario_json(check) for check in report.scenarios],
    }
    if report.interrupted:
        obj["interrupted"] = True
    return obj


def dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, indent=2)
