"""``zmodel replay FILE --html OUT``: the replay as one self-contained page.

One file, no network and no external assets (the style and script are inline):
the swimlanes (a column per thread, a row per step, with what each step changed),
the violating step and the racing pair highlighted, the explanation of
``zmodel explain``, and the whole model state after any step, shown when its row
is clicked (the violating step's at first).  The state is the heap at the start
(every object's fields) with each step's writes applied in order; the script
rebuilds it from that, so the page stays small.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from zmodel.analysis.causality import observe_replay
from zmodel.counterexample import RECURS, ReplayReport, thread_names
from zmodel.explore.observe import Observation
from zmodel.harness import build_program
from zmodel.report import state
from zmodel.report.explain import render_explain
from zmodel.report.swimlanes import lane_headers
from zmodel.runtime.value_log import UNSET, show

_STYLE = """
body { font: 14px/1.35 system-ui, sans-serif; margin: 1.2em; color: #1d1d1f; }
h1 { font-size: 1.3em; margin: 0 0 .3em; }
.meta { color: #555; margin-bottom: .8em; }
.verdict { font-weight: 600; padding: .35em .6em; display: inline-block; border-radius: 4px; }
.verdict.recurs { background: #fde2e1; color: #a10f0b; }
.verdict.fixed { background: #dff5e1; color: #17651f; }
#layout { display: flex; gap: 1.2em; align-items: flex-start; }
#lanes { border-collapse: collapse; font: 12px/1.3 ui-monospace, monospace; }
#lanes th { position: sticky; top: 0; background: #f0f0f3; text-align: left; padding: 4px 8px; }
#lanes td { border-top: 1px solid #e4e4e8; padding: 3px 8px; vertical-align: top;
  max-width: 30em; }
#lanes td.idx { color: #777; text-align: right; }
#lanes tr { cursor: pointer; }
#lanes tr:hover td { background: #f6f6fb; }
#lanes tr.setup, #lanes .lane-0 { display: none; }
#lanes.with-setup tr.setup { display: table-row; color: #666; }
#lanes.with-setup .lane-0 { display: table-cell; }
#lanes tr.pair td { background: #fff4cc; }
#lanes tr.violation td { background: #fde2e1; }
#lanes tr.decisive td { box-shadow: inset 0 -2px 0 #a10f0b; }
#lanes tr.selected td { outline: 2px solid #3b6fd8; outline-offset: -2px; }
.label { font-weight: 600; }
.note { color: #444; padding-left: 1em; }
.mark { font-weight: 700; color: #a10f0b; }
#side { position: sticky; top: 1em; min-width: 26em; max-width: 40em; }
#state table { border-collapse: collapse; font: 12px/1.3 ui-monospace, monospace; }
#state td { padding: 1px 6px; border-top: 1px solid #eee; vertical-align: top; }
#state tr.changed td { background: #fff4cc; }
#state tr.freed td { color: #999; text-decoration: line-through; }
pre.explain { background: #f6f6f8; padding: .8em; white-space: pre-wrap; font-size: 12px; }
"""

_SCRIPT = """
(function () {
  const data = JSON.parse(document.getElementById('zmodel-data').textContent);
  const lanes = document.getElementById('lanes');
  const panel = document.getElementById('state');
  function stateAfter(step) {
    const objs = {};
    for (const [obj, fields] of Object.entries(data.initial)) objs[obj] = {fields: {...fields}};
    let changed = new Set();
    for (let i = 0; i <= step && i < data.changes.length; i++) {
      changed = new Set();
      for (const [obj, field, value, what] of data.changes[i]) {
        if (!objs[obj]) objs[obj] = {fields: {}};
        if (what === 'free') objs[obj].freed = true;
        else if (field !== null) objs[obj].fields[field] = value;
        changed.add(obj + '.' + (field === null ? '' : field));
      }
    }
    return [objs, changed];
  }
  function show(step) {
    const [objs, changed] = stateAfter(step);
    const rows = [];
    for (const [obj, o] of Object.entries(objs)) {
      for (const [field, value] of Object.entries(o.fields)) {
        if (value === data.unset) continue;
        const cls = (changed.has(obj + '.' + field) ? 'changed' : '') + (o.freed ? ' freed' : '');
        rows.push('<tr class="' + cls + '"><td>' + esc(obj) + '</td><td>' + esc(field) +
                  '</td><td>' + esc(value) + '</td></tr>');
      }
    }
    const title = step < data.changes.length ? 'after step ' + step : 'at the start';
    panel.innerHTML = '<h2>State ' + title + '</h2><table>' + rows.join('') + '</table>';
    panel.dataset.step = String(step);
    for (const tr of lanes.querySelectorAll('tr.selected')) tr.classList.remove('selected');
    const row = lanes.querySelector('tr[data-step="' + step + '"]');
    if (row) row.classList.add('selected');
  }
  function esc(text) {
    return String(text).replace(/[&<>"]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;',
      '"': '&quot;'}[c]));
  }
  for (const tr of lanes.querySelectorAll('tr[data-step]')) {
    tr.addEventListener('click', () => show(Number(tr.dataset.step)));
  }
  document.getElementById('show-setup').addEventListener('change', e => {
    lanes.classList.toggle('with-setup', e.target.checked);
  });
  show(data.selected);
})();
"""


def initial_state(report: ReplayReport) -> dict[str, dict[str, str]]:
    """Every object's fields before the first step, as the value log renders them."""
    ex = build_program(report.design_cls, report.scenario)()
    return {
        f"{obj.kind}#{obj.oid}": {name: show(value) for name, value in obj.fields.items()}
        for _, obj in sorted(ex.heap.objects.items())
    }


def _changes(obs: Observation) -> list[list[list[Any]]]:
    return [[[c.obj, c.field, c.after, c.what] for c in observed.changes] for observed in obs.steps]


def _first_shown(violating: int | None, decisive: int | None, steps: int) -> int:
    """The step whose state the page opens on: the violating step, or for an
    end-state violation the decisive one (a leak: the put that reached 0)."""
    if violating is not None and violating < steps:
        return violating
    return decisive if decisive is not None else steps - 1


def render_html(report: ReplayReport) -> str:
    """The page of ``report`` (a replay of a counterexample)."""
    cx, run = report.cx, report.run
    obs, why = observe_replay(report)
    names = thread_names(report.design_cls, report.scenario)
    scenario = report.scenario
    threads = ["; ".join(str(op) for op in ops) for ops in scenario.threads]
    headers = lane_headers(names, threads, "; ".join(str(op) for op in scenario.setup))
    notes = state.lane_notes(obs, headers)
    found = run.violation
    bad = found.step_index if found is not None else None
    pair = {why.pair.first.step, why.pair.second.step} if why and why.pair else set()
    rows = []
    for i, observed in enumerate(obs.steps):
        tid = observed.step.tid
        classes = ["setup"] if tid == 0 else []
        mark = ""
        if i in pair:
            classes.append("pair")
            mark = state.PAIR_MARK
        if i == bad:
            classes.append("violation")
            mark = ">>"
        if why is not None and i == why.decisive:
            classes.append("decisive")
        cells = [f'<td class="idx"><span class="mark">{mark}</span> {i}</td>']
        for lane in range(len(headers)):
            if lane != tid:
                cells.append(f'<td class="lane-{lane}"></td>')
                continue
            body = [f'<div class="label">{escape(observed.step.label)}</div>']
            body += [f'<div class="note">{escape(note)}</div>' for note in notes.get(i, [])]
            cells.append(f'<td class="lane-{tid} step">{"".join(body)}</td>')
        row_class = f' class="{" ".join(classes)}"' if classes else ""
        rows.append(f'<tr data-step="{i}"{row_class}>{"".join(cells)}</tr>')
    if found is not None and bad is not None and bad >= len(obs.steps):
        span = len(headers)
        rows.append(
            f'<tr class="violation end" data-step="{len(obs.steps) - 1}"><td class="idx">'
            f'<span class="mark">&gt;&gt;</span> end</td><td colspan="{span}">'
            f"{escape(found.prop)} at quiescence: {escape(found.message)}</td></tr>"
        )
    recurs = report.status == RECURS
    if found is not None:
        verdict = f"VIOLATION {'RECURS' if recurs else '(a different one)'}: {found.prop}"
        verdict_html = (
            f'<div class="verdict recurs">{escape(verdict)}: {escape(found.message)}</div>'
        )
    else:
        verdict_html = (
            f'<div class="verdict fixed">NO VIOLATION: {escape(cx.prop)} does not recur</div>'
        )
    explanation = render_explain(why, recurs) if why is not None else "no violation to explain"
    legend = "".join(f"<li>{escape(line)}</li>" for line in state.legend(why))
    data = {
        "initial": initial_state(report),
        "changes": _changes(obs),
        "selected": _first_shown(bad, why.decisive if why else None, len(obs.steps)),
        "unset": UNSET,
    }
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    head = "".join(f'<th class="lane-{i}">{escape(h)}</th>' for i, h in enumerate(headers))
    title = f"{cx.prop} on {report.design_cls.name}: {cx.scenario}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>zmodel: {escape(title)}</title>
<style>{_STYLE}</style></head>
<body>
<h1>zmodel replay: {escape(cx.prop)} on {escape(report.design_cls.name)}</h1>
<div class="meta">scenario <code>{escape(cx.scenario)}</code> &middot; file
<code>{escape(str(report.path))}</code> &middot; {len(obs.steps)} steps, engine
{escape(cx.engine)}</div>
{verdict_html}
<ul class="legend">{legend}</ul>
<p><label><input type="checkbox" id="show-setup"> show the setup's steps</label>
&middot; click a step to see the state after it</p>
<div id="layout">
<table id="lanes"><thead><tr><th>step</th>{head}</tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<div id="side"><div id="state"></div>
<h2>Explanation</h2><pre class="explain" id="explanation">{escape(explanation)}</pre></div>
</div>
<script type="application/json" id="zmodel-data">{payload}</script>
<script>{_SCRIPT}</script>
</body></html>
"""


def write_html(report: ReplayReport, out: Path) -> None:
    out.write_text(render_html(report), encoding="utf-8")
