"""``srprint trace``: parse, call :func:`.trace_batch.trace_files`, print (the library is :mod:`.trace_batch`)."""

from __future__ import annotations

from pathlib import Path

from ..cli_common import printed_as_json, stdout


def run_trace(target: Path, zoos: list[Path], *, run: Path | None, top: int, models: str | None, crop: int,
              steps: int, alpha: float, as_json: bool, device: str = "cpu") -> None:
    from .trace import TraceSettings
    from .trace_batch import image_files, trace_files, zoo_entries

    files = image_files(target)
    entries = zoo_entries(zoos, models=models)
    lists = None
    if run is not None:
        from .predict import shortlists

        lists = shortlists(run, files, top=top, device=device)
    out = trace_files(files, entries, shortlists=lists, models=models, settings=TraceSettings(crop=crop, steps=steps),
                      alpha=alpha, device=device)
    if printed_as_json(out, as_json):
        return
    for im in out["images"]:
        stdout.print(f"{im['path']}: [bold]{im['verdict']}{' ' + im['model'] if im.get('model') else ''}[/]",
                     highlight=False)
        stdout.print(f"  {im['explanation']}", highlight=False, soft_wrap=True)
        if im.get("path_taken"):
            stdout.print(f"  traced as: {im['path_taken']}", highlight=False, soft_wrap=True)
        for row in im["candidates"][:5]:
            if row.get("uninformative"):
                stdout.print(f"    {row['id']:45s} not searched: bicubic leaves {row['bicubic_violations']} of "
                             f"{row['n']} outside the cells (too few to tell models apart)", highlight=False)
                continue
            if "violations" in row:
                stdout.print(f"    {row['id']:45s} {row['violations']} of {row['n']} coefficients outside the cells, "
                             f"p = {row['p_value']:.2g}", highlight=False)
                continue
            stdout.print(f"    {row['id']:45s} residual {row['residual']:.3g} ({row['floor_ratio']:.3g}x floor), "
                         f"p = {row['p_value']:.2g}", highlight=False)
    for s in out["skipped"]:
        stdout.print(f"[yellow]skipped[/] {s['path']}: {s['reason']}", highlight=False)
    if "aggregate" in out:
        agg = out["aggregate"]
        stdout.print(f"folder verdict ({agg['n']} images, {agg['agree']} agree): {agg['verdict']}"
                     f"{' ' + agg['model'] if agg.get('model') else ''}", highlight=False)
