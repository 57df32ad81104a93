"""The table of hostile cases: each is one real command line and what srprint must answer.

``args(ws, out)`` builds the command line from the shared :class:`Workspace` and the case's own
empty output folder ``out``. ``rc`` is the expected exit code; ``error`` a regex the single
``error:`` line must match (rc 2), ``stderr`` a regex stderr must match otherwise (a warning).
``setup(ws, out)`` prepares the output side (an existing file, a read-only folder ...).
``unprivileged`` runs the command without root's permission override, so read-only means read-only.
``env``, ``file_size_limit`` (a full disk), ``cwd_out`` (a default file in the working folder) and
``timeout`` (a hang) serve the second round's rows, which live in :mod:`tests.hostile.cases_records`.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .workspace import Workspace

Args = Callable[[Workspace, Path], list[str]]
Setup = Callable[[Workspace, Path], None]


@dataclass(frozen=True)
class Case:
    id: str
    args: Args
    rc: int
    error: str | None = None  # regex on the one error line (rc != 0)
    stderr: str | None = None  # regex on the whole stderr (warnings of a successful run)
    setup: Setup | None = None
    unprivileged: bool = False
    no_output: bool = False  # nothing may appear in ``out`` either
    env: dict[str, str] | None = None  # extra environment variables
    file_size_limit: int | None = None  # bytes: a write past it fails with EFBIG (a full disk)
    cwd_out: bool = False  # run in ``out``: a default file written to the working folder shows there
    timeout: float = 300  # seconds: a command that hangs (a named pipe) fails the case


def _notes(ws: Workspace, out: Path) -> None:
    (out / "notes.txt").write_text("my notes\n")


def _readonly(ws: Workspace, out: Path) -> None:
    (out / "ro").mkdir()
    (out / "ro").chmod(0o555)


def _broken_tables(ws: Workspace, out: Path) -> None:
    tables = out / "study" / "tables"
    tables.mkdir(parents=True)
    (tables / "attribution_mini.json").write_text('{"cnn": {"overall_acc": 0.9')  # cut short by a kill
    (tables / "verification.json").write_text('["not", "a", "table"]')
    (tables / "trace.json").write_text('{"top1_made_by": "ten of ten"}')  # wrong shapes


def _file_parent(ws: Workspace, out: Path) -> None:
    (out / "afile").write_text("x")


def _other_entry(ws: Workspace, out: Path) -> None:
    shutil.copytree(ws.sibling, out / "entry")


def _nonempty(ws: Workspace, out: Path) -> None:
    (out / "mine").mkdir()
    (out / "mine" / "thesis.tex").write_text("...")


def _garbage_sqlite(ws: Workspace, out: Path) -> None:
    (out / "reg.sqlite").write_bytes(b"this is not a database" * 100)


def _empty_registry(ws: Workspace, out: Path) -> None:
    sqlite3.connect(out / "reg.sqlite").close()


def _ro_run(ws: Workspace, out: Path) -> None:
    shutil.copytree(ws.run, out / "run")
    for p in (out / "run").iterdir():
        p.chmod(0o444)
    (out / "run").chmod(0o555)


def _tampered_openset_cache(ws: Workspace, out: Path) -> None:
    import numpy as np

    shutil.copytree(ws.run, out / "run")
    for npy in (out / "run").glob("openset_means*.npy"):
        np.save(npy, np.array([{"payload": 1}], dtype=object), allow_pickle=True)


def sr(model: Callable[[Workspace], Path], image: Callable[[Workspace], Path], dest: str = "x.png",
       *extra: str) -> Args:
    return lambda ws, out: ["sr", str(model(ws)), str(image(ws)), "-o", str(out / dest), "--device", "cpu", *extra]


def _model(ws: Workspace) -> Path:
    return ws.model


def _good(ws: Workspace) -> Path:
    return ws.good


def _bad(name: str) -> Callable[[Workspace], Path]:
    return lambda ws: ws.p(f"bad/{name}")


def _img(name: str) -> Callable[[Workspace], Path]:
    return lambda ws: ws.p(f"img/{name}")


def _entry(name: str) -> Callable[[Workspace], Path]:
    return lambda ws: ws.p(f"bad_entries/{name}")


def imp(rel: str, *extra: str) -> Args:
    return lambda ws, out: ["zoo", "import", str(ws.p(rel)), "--zoo", str(out / "zoo"), *extra]


def manifest(rel: str) -> Args:
    return lambda ws, out: ["zoo", "import", "--manifest", str(ws.p(rel)), "--zoo", str(out / "zoo")]


def predict(target: Callable[[Workspace], Path], *extra: str, run: str = "run") -> Args:
    return lambda ws, out: ["attribute", "predict", str(ws.p(run)), str(target(ws)), "--device", "cpu",
                            "--tiles", "1", *extra]


def corpus(folder: str) -> Args:
    return lambda ws, out: ["corpus", "prepare", str(ws.p(folder)), "-o", str(out / "corpus")]


def attack(kind: str, dest: str, *extra: str) -> Args:
    return lambda ws, out: ["attack", kind, str(ws.model), "-o", str(out / dest), "--device", "cpu", *extra]


def fingerprint(dest: str, *extra: str, model: Callable[[Workspace], Path] = _model) -> Args:
    return lambda ws, out: ["fingerprint", str(model(ws)), "-o", str(out / dest), "--size", "16", "--iters", "2",
                            "--device", "cpu", *extra]


UNREADABLE = r"not a recognised image|corrupt or truncated|empty file|not found"
REFUSED_PICKLE = r"allow-pickle"
CASES: list[Case] = [
    # --- one image: every way a file can be bad
    Case("sr-zero-byte", sr(_model, _bad("zero.png")), 2, r"zero\.png: empty file"),
    Case("sr-text-as-png", sr(_model, _bad("text.png")), 2, r"text\.png: not a recognised image"),
    Case("sr-truncated", sr(_model, _bad("truncated.png")), 2, r"truncated\.png: corrupt or truncated"),
    Case("sr-decompression-bomb", sr(_model, _bad("bomb.png")), 2,
         r"bomb\.png: .*limit of \d+ pixels.*SRPRINT_MAX_PIXELS"),
    Case("sr-oversized", sr(_model, _bad("huge.png")), 2, r"10000x10000 is over the limit .*SRPRINT_MAX_PIXELS"),
    Case("sr-symlink-loop", sr(_model, _bad("loop.png")), 2, r"loop\.png"),
    Case("sr-broken-link", sr(_model, _bad("broken.png")), 2, r"image not found: .*broken\.png"),
    Case("sr-directory-as-image", sr(_model, lambda ws: ws.images), 2, r"directory"),
    Case("sr-16-bit", sr(_model, _img("deep16.png")), 0, stderr=r"warning: .*16-bit image read as 8-bit"),
    Case("sr-grey", sr(_model, _img("grey.png")), 0, stderr=r"warning: .*converted to RGB"),
    Case("sr-rgba", sr(_model, _img("rgba.png")), 0, stderr=r"warning: .*alpha channel dropped"),
    Case("sr-palette", sr(_model, _img("palette.png")), 0),
    Case("sr-1x1", sr(_model, _img("one.png")), 0),
    # --- outputs: never overwrite what the user did not name
    Case("sr-output-exists", sr(_model, _good, "notes.txt"), 2, r"notes\.txt exists and would be overwritten.*--force",
         setup=_notes),
    Case("sr-output-is-input", lambda ws, out: ["sr", str(ws.model), str(ws.good), "-o", str(ws.good)], 2,
         r"refusing to overwrite the input"),
    Case("sr-output-under-a-file", sr(_model, _good, "afile/x.png"), 2, r"afile is a file, not a folder",
         setup=_file_parent),
    Case("sr-output-read-only", sr(_model, _good, "ro/x.png"), 2, r"ro.*(not writable|Permission denied)",
         setup=_readonly, unprivileged=True),
    Case("sr-force-replaces", sr(_model, _good, "notes.txt", "--force"), 0, setup=_notes),
    # --- model records and weights are untrusted too
    Case("sr-missing-model", lambda ws, out: ["sr", str(out / "nope"), str(ws.good), "-o", str(out / "x.png")], 2,
         r"nope"),
    Case("sr-record-huge-config", sr(_entry("huge_config"), _good), 2, r"implausible arch_config n_feats"),
    Case("sr-record-unknown-option", sr(_entry("unknown_config"), _good), 2, r"cannot rebuild the network"),
    Case("sr-record-bad-scale", sr(_entry("bad_scale"), _good), 2, r"implausible scale 7000"),
    Case("sr-record-unknown-arch", sr(_entry("unknown_arch"), _good), 2, r"NoSuchNet"),
    Case("sr-record-corrupt-json", sr(_entry("corrupt_json"), _good), 2, r"model\.json: corrupt record"),
    Case("sr-weights-do-not-fit", sr(_entry("wrong_weights"), _good), 2, r"weights do not match EDSR"),
    Case("sr-bad-device", sr(_model, _good, "x.png", "--device", "tpu"), 2, r"device"),
    Case("zoo-list-corrupt-entry", lambda ws, out: ["zoo", "list", str(ws.p("zoo_with_corrupt"))], 0,
         stderr=r"warning: skipped a corrupt zoo entry: .*corrupt"),
    Case("zoo-list-missing", lambda ws, out: ["zoo", "list", str(out / "nothing")], 2, r"zoo folder not found"),
    Case("zoo-train-unsupported-scale", lambda ws, out: ["zoo", "train", "--spec", "EDSR-skimage-x7-L1-s1", "--zoo",
                                                         str(out / "z"), "--iters", "2", "--device", "cpu"], 2,
         r"x7|scale", no_output=True),
    # --- folders: a bad file is skipped with a warning; all bad is an error
    Case("corpus-skips-bomb", corpus("mixed_bomb"), 0, stderr=r"warning: skipped .*bomb\.png"),
    Case("corpus-skips-truncated", corpus("mixed_truncated"), 0, stderr=r"warning: skipped .*truncated\.png"),
    Case("corpus-skips-non-utf8-name", corpus("mixed_name"), 0, stderr=r"warning: skipped .*not valid UTF-8"),
    Case("corpus-all-bad", corpus("only_bad"), 2, r"only_bad|no (usable|readable)"),
    Case("corpus-missing-folder", corpus("no_such_folder"), 2, r"no_such_folder"),
    Case("predict-skips-bomb", predict(lambda ws: ws.p("mixed_bomb")), 0, stderr=r"warning: skipped.*bomb\.png"),
    Case("predict-skips-non-utf8-name", predict(lambda ws: ws.p("mixed_name")), 0,
         stderr=r"warning: skipped .*not valid UTF-8"),
    Case("predict-all-bad", predict(lambda ws: ws.p("only_bad")), 2, r"no readable image"),
    Case("predict-bomb-file", predict(_bad("bomb.png")), 2, r"no readable image"),
    Case("predict-16-bit", predict(_img("deep16.png")), 0, stderr=r"16-bit"),
    Case("predict-top-k-0", predict(_good, "--top-k", "0"), 2, r"--top-k"),
    Case("predict-half-written-run", predict(_good, run="half_run"), 2, r"half-written|not finished|rerun"),
    Case("predict-tampered-open-set-cache", lambda ws, out: ["attribute", "predict", str(out / "run"), str(ws.good),
                                                              "--device", "cpu", "--tiles", "1"], 0,
         stderr=r"warning: open-set calibration in .* is unreadable and is recomputed", setup=_tampered_openset_cache),
    Case("predict-not-a-run", predict(_good, run="img"), 2, r"not a classifier run"),
    # --- checkpoints: never unpickle code, refuse lies and garbage
    Case("import-legacy-pickle", imp("ckpt/legacy.pth"), 2, REFUSED_PICKLE, no_output=True),
    Case("import-zip-pickle", imp("ckpt/zip.pth"), 2, REFUSED_PICKLE, no_output=True),
    Case("import-raw-pickle", imp("ckpt/raw.pt"), 2, REFUSED_PICKLE, no_output=True),
    Case("import-lying-safetensors-header", imp("ckpt/lying.safetensors"), 2, r"lying\.safetensors", no_output=True),
    Case("import-lying-safetensors-shape", imp("ckpt/lying_shape.safetensors"), 2, r"lying_shape", no_output=True),
    Case("import-truncated-safetensors", imp("ckpt/truncated.safetensors"), 2, r"truncated\.safetensors",
         no_output=True),
    Case("import-unknown-architecture", imp("ckpt/unknown.pth"), 2, r"unknown\.pth", no_output=True),
    Case("import-garbage-h5", imp("ckpt/garbage.h5"), 2, r"garbage\.h5", no_output=True),
    Case("import-garbage-mat", imp("ckpt/garbage.mat"), 2, r"garbage\.mat", no_output=True),
    Case("import-garbage-pb", imp("ckpt/garbage.pb"), 2, r"garbage\.pb", no_output=True),
    Case("import-empty-file", imp("ckpt/empty.pth"), 2, r"empty", no_output=True),
    Case("import-manifest-not-utf8", manifest("manifests/latin1.csv"), 2, r"not a UTF-8 text file", no_output=True),
    Case("import-manifest-all-rows-fail", manifest("manifests/all_bad.csv"), 2, r"all 2 manifest rows failed"),
    Case("import-manifest-missing-columns", manifest("manifests/no_columns.csv"), 2, r"missing column"),
    Case("import-read-only-zoo", lambda ws, out: ["zoo", "import", str(ws.p("ckpt/rtc.pth")), "--zoo",
                                                  str(out / "ro" / "zoo")], 2, r"(not writable|Permission denied)",
         setup=_readonly, unprivileged=True),
    # --- attacks: output policy and parameter ranges
    Case("attack-into-another-entry", attack("prune", "entry"), 2, r"already holds another model.*--replace",
         setup=_other_entry),
    Case("attack-into-non-empty-folder", attack("prune", "mine"), 2, r"non-empty folder", setup=_nonempty),
    Case("attack-bits-0", attack("quantize", "q", "--bits", "0"), 2, r"--bits", no_output=True),
    Case("attack-bits-1", attack("quantize", "q", "--bits", "1"), 2, r"--bits", no_output=True),
    Case("attack-bits-99", attack("quantize", "q", "--bits", "99"), 2, r"--bits", no_output=True),
    Case("attack-lr-nan", attack("finetune", "f", "--lr", "nan"), 2, r"--lr.*nan", no_output=True),
    Case("attack-lr-negative", attack("finetune", "f", "--lr", "-1"), 2, r"--lr", no_output=True),
    Case("attack-percent-150", attack("prune", "p", "--percent", "150"), 2, r"--percent", no_output=True),
    Case("attack-read-only-output", attack("prune", "ro/p"), 2, r"(not writable|Permission denied)",
         setup=_readonly, unprivileged=True),
    Case("attack-output-under-a-file", attack("prune", "afile/p"), 2, r"afile", setup=_file_parent),
    Case("import-output-under-a-file", lambda ws, out: ["zoo", "import", str(ws.p("ckpt/rtc.pth")), "--zoo",
                                                        str(out / "afile" / "zoo")], 2, r"afile", setup=_file_parent),
    # --- fingerprints and verification
    Case("fingerprint-output-under-a-file", fingerprint("afile/fp.json"), 2, r"afile is a file", setup=_file_parent),
    Case("fingerprint-output-exists", fingerprint("notes.txt"), 2, r"notes\.txt exists", setup=_notes),
    Case("fingerprint-size-100000", fingerprint("fp.json", "--size", "100000"), 2, r"--size", no_output=True),
    Case("fingerprint-read-only-output", fingerprint("ro/fp.json"), 2, r"(not writable|Permission denied)",
         setup=_readonly, unprivileged=True),
    Case("fingerprint-denoiser-as-sr", fingerprint("fp.json", "--task", "sr", model=lambda ws: ws.denoiser), 2,
         r"task", no_output=True),
    Case("fingerprint-unknown-task", fingerprint("fp.json", "--task", "paint"), 2, r"paint", no_output=True),
    Case("verify-truncated-fingerprint",
         lambda ws, out: ["verify", str(ws.p("fp/truncated.json")), str(ws.fingerprint)],
         2, r"truncated\.json: corrupt fingerprint"),
    Case("verify-foreign-fingerprint", lambda ws, out: ["verify", str(ws.p("fp/foreign.json")), str(ws.fingerprint)],
         2, r"foreign\.json"),
    Case("verify-different-settings",
         lambda ws, out: ["verify", str(ws.fingerprint), str(ws.p("fp/other_settings.json")),
                                                       "-o", str(out / "v.png")], 2, r"settings"),
    Case("verify-side-image-read-only", lambda ws, out: ["verify", str(ws.fingerprint), str(ws.fingerprint), "--image",
                                                         str(out / "ro" / "v.png")], 0,
         stderr=r"warning: side-by-side image not written", setup=_readonly, unprivileged=True),
    Case("registry-check-missing-registry", lambda ws, out: ["registry", "check", str(ws.fingerprint), "--registry",
                                                              str(out / "typo.sqlite")], 2, r"registry not found",
         no_output=True),
    Case("registry-list-not-a-database", lambda ws, out: ["registry", "list", "--registry", str(out / "reg.sqlite")],
         2, r"reg\.sqlite|database", setup=_garbage_sqlite),
    # --- runs: tampered, truncated, read-only
    Case("prnu-tampered-object-npy", lambda ws, out: ["prnu", "eval", str(ws.p("prnu_tampered"))], 2,
         r"fingerprints\.npy: corrupt or unsafe"),
    Case("prnu-truncated-npy", lambda ws, out: ["prnu", "eval", str(ws.p("prnu_truncated"))], 2,
         r"fingerprints\.npy: corrupt"),
    Case("prnu-fit-read-only-output", lambda ws, out: ["prnu", "fit", "--data", str(ws.render), "-o",
                                                       str(out / "ro" / "prnu"), "--crop", "32"], 2,
         r"(not writable|Permission denied)", setup=_readonly, unprivileged=True),
    Case("prnu-fit-output-under-a-file", lambda ws, out: ["prnu", "fit", "--data", str(ws.render), "-o",
                                                          str(out / "afile" / "prnu"), "--crop", "32"], 2, r"afile",
         setup=_file_parent),
    Case("prnu-fit-non-empty-output", lambda ws, out: ["prnu", "fit", "--data", str(ws.render), "-o",
                                                       str(out / "mine"), "--crop", "32"], 2, r"not empty|non-empty",
         setup=_nonempty),
    Case("attribute-eval-read-only-run", lambda ws, out: ["attribute", "eval", str(out / "run"), "--data",
                                                          str(ws.render), "--device", "cpu", "--tiles", "1"], 0,
         stderr=r"warning: figures and eval_test\.json not written", setup=_ro_run, unprivileged=True),
    Case("embed-bad-where", lambda ws, out: ["attribute", "embed", str(ws.run), "--data", str(ws.render), "--where",
                                             "scale>>4", "--device", "cpu"], 2, r"where|scale>>4"),
    # --- study and report
    Case("report-missing-study", lambda ws, out: ["report", str(out / "nope"), "-o", str(out / "r.html")], 2,
         r"study folder not found", no_output=True),
    Case("report-output-exists", lambda ws, out: ["report", str(ws.render.parent), "-o", str(out / "notes.txt")], 2,
         r"notes\.txt exists and would be overwritten.*--force", setup=_notes),
    Case("report-output-read-only", lambda ws, out: ["report", str(ws.render.parent), "-o",
                                                     str(out / "ro" / "r.html")], 2,
         r"(not writable|Permission denied)", setup=_readonly, unprivileged=True),
    Case("report-of-a-half-run-folder", lambda ws, out: ["report", str(ws.p("half_run")), "-o",
                                                         str(out / "r.html")], 0),
    Case("report-of-broken-tables", lambda ws, out: ["report", str(out / "study"), "-o", str(out / "r.html")], 0,
         setup=_broken_tables),
    Case("study-paper-without-div2k", lambda ws, out: ["study", "--preset", "paper", "-o", str(out / "s")], 2,
         r"needs data that is missing: DIV2K", no_output=True),
    Case("study-paper-home-without-div2k", lambda ws, out: ["study", "--preset", "paper", "--home", str(out / "h"),
                                                            "-o", str(out / "s")], 2,
         r"expected at \S*/h/datasets/div2k", no_output=True),
    Case("study-unknown-stage", lambda ws, out: ["study", "--skip", "nope", "-o", str(out / "s")], 2,
         r"unknown stage", no_output=True),
    # --- the CLI itself
    Case("json-flag-takes-no-value", lambda ws, out: ["zoo", "list", str(ws.zoo), "--json", "true"], 2,
         r"unexpected extra argument"),
    Case("version", lambda ws, out: ["--version"], 0),
    Case("unknown-command", lambda ws, out: ["no-such-command"], 2, r"No such command"),
    Case("deprecated-alias-still-validated", lambda ws, out: ["fen", "train", "--data", str(ws.render), "-o",
                                                              str(out / "f"), "--max-per-model", "0"], 2,
         r"--max-per-class", no_output=True),
]
