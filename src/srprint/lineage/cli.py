"""CLI: ``srprint lineage index | query | tree`` (parses options, calls :mod:`srprint.lineage`, prints)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from ..cli_common import ForceOpt, JsonOpt, executor_options, printed_as_json, stdout
from ..errors import SrprintError

IndexOpt = typer.Option(..., "--index", help="Lineage index folder (created by `lineage index`)")
AllowPickleOpt = typer.Option(False, "--allow-pickle", help="Allow full unpickling of a checkpoint file "
                              "(runs code from the file!)")

lineage_app = typer.Typer(no_args_is_help=True, help="Which known model is this checkpoint? A lineage index: "
                          "`lineage index ZOO... --index DIR`, `lineage query FILE --index DIR`, "
                          "`lineage tree --index DIR -o tree.json`.")


@lineage_app.command("index")
@executor_options
def index_cmd(
    models: list[Path] = typer.Argument(None, help="Zoo folders, zoo entry folders or checkpoint files to add"),
    index: Path = IndexOpt,
    repair: bool = typer.Option(False, "--repair", help="Rebuild the vector files from the index's records"),
    remove: list[str] = typer.Option(None, "--remove", help="Remove the model with this id (repeatable)"),
    link: int = typer.Option(3, "--link", min=0, max=50, help="Confirm each added model against this many "
                             "nearest sketches and store the relations (the family graph queries walk; 0: skip)"),
    allow_pickle: bool = AllowPickleOpt,
    as_json: bool = JsonOpt,
    run_on: dict[str, Any] = None,  # type: ignore[assignment]  (from @executor_options)
) -> None:
    """Add models to the lineage index (a model already there is reported as a duplicate), remove
    models, or rebuild a corrupt index's vectors from its records (--repair)."""
    from .store import LineageIndex

    if not models and not repair and not remove:
        raise SrprintError("give models to index (zoo folders, entry folders or checkpoint files), "
                           "--remove ID or --repair")
    out: dict[str, Any] = {"index": str(index)}
    if repair:
        out["repaired"] = LineageIndex(index).repair()
        if not as_json:
            stdout.print(f"repaired {index}: {sum(out['repaired'].values())} models in "
                         f"{len(out['repaired'])} groups", highlight=False)
    for model_id in remove or []:
        rec = LineageIndex(index).remove(model_id)
        out.setdefault("removed", []).append(rec.model_id)
        if not as_json:
            stdout.print(f"removed {rec.model_id}", highlight=False)
    if models:
        from .build import index_models

        res = index_models(list(models), index, allow_pickle=allow_pickle, **run_on)
        out.update(results=[vars(r) for r in res["results"]], failed=res["failed"], groups=res["groups"])
        _print_indexed(res, index, as_json=as_json)
    if link and (models or repair):
        out["linked"] = _link(index, link, as_json=as_json)
    printed_as_json(out, as_json)


def _link(index: Path, k: int, *, as_json: bool) -> dict[str, int]:
    """``link_index`` after ``lineage index`` (its counts, printed unless JSON)."""
    from .tree import link_index

    done = link_index(index, k=k)
    if not as_json:
        stdout.print(f"linked {done['linked']} models: {done['pairs']} pairs confirmed", highlight=False)
    return {"linked": done["linked"], "pairs": done["pairs"]}


def _print_indexed(res: dict[str, Any], index: Path, *, as_json: bool) -> None:
    """The duplicates and the count of ``lineage index`` (unless JSON), then the failures on stderr."""
    if not as_json:
        for r in res["results"]:
            if r.status == "duplicate":
                stdout.print(f"duplicate {r.model_id}: already indexed as {r.of} ({r.reason})", highlight=False)
        added = sum(r.status == "added" for r in res["results"])
        stdout.print(f"indexed {added} new models; {len(res['results']) - added} duplicates; "
                     f"{sum(res['groups'].values())} in {index}", highlight=False)
    for path, err in res["failed"]:
        sys.stderr.write(f"warning: {path}: not indexed ({err})\n")


@lineage_app.command("query")
def query_cmd(
    model: Path = typer.Argument(..., help="The model to look up: a zoo entry folder or a checkpoint file"),
    index: Path = IndexOpt,
    k: int = typer.Option(10, "--k", min=1, max=1000, help="Candidates taken from the sketch index"),
    n_confirm: int = typer.Option(3, "--confirm", min=0, max=100,
                                  help="Nearest candidates confirmed by the ownership verdict"),
    alpha: float = typer.Option(0.05, "--alpha", min=1e-12, max=0.5,
                                help="Family-wise error rate a relation must stay below"),
    allow_pickle: bool = AllowPickleOpt,
    registry: Path | None = typer.Option(None, "--registry", help="Fingerprint registry file: name the "
                                         "registered owners the answer points to"),
    as_json: bool = JsonOpt,
) -> None:
    """Which indexed model is MODEL: same model, derived from X, shares a parent with X, or unknown."""
    from .owners import lookup

    res = lookup(model, index, registry=registry, k=k, n_confirm=n_confirm, alpha=alpha, allow_pickle=allow_pickle)
    if not printed_as_json(res, as_json):
        _print_answer(res)


def _print_answer(res: dict[str, Any]) -> None:
    stdout.print(res["text"], highlight=False, soft_wrap=True)
    if res["fwer"] is not None:
        weighted = (f" (weighted Holm: half the level on the {res['same_layout']} with its kernel layout)"
                    if 0 < res.get("same_layout", 0) < res["group_size"] else "")
        stdout.print(f"  family-wise error rate over the {res['group_size']} indexed {res['group']} models"
                     f"{weighted}: {res['fwer']:.2g}", highlight=False)
    for r in res["relations"]:
        fw = "n/a" if r["fwer"] is None else f"{r['fwer']:.2g}"
        stdout.print(f"  {r['candidate']}: {r['relation']} (verdict {r['verdict']}, function "
                     f"{r['function_db']:.1f} dB, FWER {fw})", highlight=False)
    if "owners" in res:
        names = [f"{o['name']} ({o['relation']}, FWER {'n/a' if o['fwer'] is None else format(o['fwer'], '.2g')})"
                 for o in res["owners"]]
        stdout.print(f"  registered owners: {', '.join(names) or 'none named'}", highlight=False)
    for flag in res.get("flags", []):
        stdout.print(f"[yellow]flag:[/] {flag}", highlight=False)
    stdout.print(f"  lookup {res['lookup_ms']:.2f} ms among {res['group_size']}; sketch {res['sketch_s']:.2f} s; "
                 f"confirmation {res['confirm_s']:.2f} s", highlight=False)


@lineage_app.command("tree")
def tree_cmd(
    index: Path = IndexOpt,
    out: Path = typer.Option(..., "-o", "--out", help="Graph JSON (the figure is written beside it as .png)"),
    k: int = typer.Option(3, "--k", min=1, max=50, help="Nearest sketches tried as edges per model"),
    alpha: float = typer.Option(0.05, "--alpha", min=1e-12, max=0.5, help="Family-wise error rate of an edge"),
    source: str = typer.Option("lookups", "--from", help="lookups: each model's own lookup, itself left out, gives "
                               "its edge (stored in the index, reused); pairs: the pairs confirmed at index time, "
                               "Holm over every pair (fast, few edges in a large group)"),
    force: bool = ForceOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The directed lineage graph of the index (JSON + a matplotlib figure), with each edge's confidence."""
    from ..io.atomic import atomic_write_json
    from ..io.outputs import check_output_file
    from .tree import draw_tree, lineage_tree

    check_output_file(out, force=force)

    def shown(mid: str, ans: dict) -> None:
        if not as_json:
            sys.stderr.write(f"looked up {mid}: {ans.get('answer')} {ans.get('match') or ''}\n")

    tree = lineage_tree(index, k=k, alpha=alpha, source=source, progress=shown)
    atomic_write_json(out, tree)
    if not printed_as_json(tree, as_json):
        stdout.print(f"wrote {out}: {len(tree['nodes'])} models, {len(tree['edges'])} edges", highlight=False)
    fig = out.with_suffix(".png")
    try:
        draw_tree(tree, fig)
    except OSError as exc:
        sys.stderr.write(f"warning: figure not written ({exc.strerror or exc}: {fig})\n")


def register(app: typer.Typer) -> None:
    """Add ``lineage`` to the srprint app, and the lineage index lookup to ``srprint registry check --index``."""
    from . import owners  # noqa: F401  (registers owners.lookup in verification.registry_check.INDEX_LOOKUPS)

    app.add_typer(lineage_app, name="lineage")
