"""The design commands: ``list`` (designs, suites, properties, operations and
options) and ``new-design`` (a change's starting file); presentation only."""

from __future__ import annotations

from pathlib import Path

import click

from zmodel.cli_options import design_option
from zmodel.design_spec import resolve
from zmodel.properties import PROPERTIES
from zmodel.report import listing
from zmodel.report.tables import terminal_look
from zmodel.scaffold import class_name, scaffold
from zmodel.zswap.designs import REGISTRY, Design


@click.command("list")
@click.argument(
    "what",
    required=False,
    type=click.Choice(["designs", "scenarios", "properties", "options"]),
)
@design_option("Only this design's scenarios", default=None)
def list_command(what: str | None, design: str | None) -> int:
    """List designs, the scenarios of each design's suite, properties, and the
    scenario operations and options."""
    sections = [what] if what else ["designs", "scenarios", "properties", "options"]
    designs: list[type[Design]] = (
        [resolve(design)] if design else [REGISTRY[name] for name in sorted(REGISTRY)]
    )
    look = terminal_look()  # plain text on a pipe or with NO_COLOR
    parts = []
    if "designs" in sections:
        parts.append(listing.render_designs(designs, look))
    if "scenarios" in sections:
        parts.append(listing.render_suites(designs, look))
    if "properties" in sections:
        parts.append(listing.render_properties(PROPERTIES.values(), look))
    if "options" in sections:
        parts.append(listing.render_options(look))
    click.echo("\n".join(parts), nl=False)
    return 0


@click.command("new-design")
@click.argument("base")
@click.argument("name")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write here (default: stdout)."
)
def new_design(base: str, name: str, output: str | None) -> int:
    """Write the starting file of a change NAME of design BASE: a subclass listing
    every step of BASE a change can override, with the kernel function it models."""
    text = scaffold(resolve(base), base, name)
    if output is None:
        click.echo(text, nl=False)
        return 0
    target = Path(output)
    if target.exists():
        raise click.UsageError(f"{output} exists; new-design never overwrites a file")
    target.write_text(text)
    cls = class_name(name)
    click.echo(f"wrote {output}: class {cls}; use it as --design {output}:{cls}")
    return 0
