"""The second hostile round (issue 29) of the table: records are data, not paths; only named outputs are
written; special files, non-finite pixels, corrupt AVIF, a full disk, environment variables.

Rows as in :mod:`tests.hostile.cases` (same :class:`Case`); the suite runs ``cases.CASES`` and these.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from .cases import (
    Args,
    Case,
    Setup,
    _bad,
    _entry,
    _file_parent,
    _good,
    _model,
    _nonempty,
    _notes,
    corpus,
    fingerprint,
    imp,
    manifest,
    predict,
    sr,
)
from .workspace import Workspace


def _fifo(name: str) -> Setup:
    return lambda ws, out: os.mkfifo(out / name)


def _link_to_null(ws: Workspace, out: Path) -> None:
    (out / "null.png").symlink_to("/dev/null")


def _critical_exists(ws: Workspace, out: Path) -> None:
    (out / "new.critical0.png").write_bytes(b"my own picture")


def _dir_critical_exists(ws: Workspace, out: Path) -> None:
    (out / "fp").mkdir()
    (out / "fp" / "fingerprint.critical0.png").write_bytes(b"my own picture")


def _fingerprint_copy(ws: Workspace, out: Path) -> None:
    shutil.copy(ws.fingerprint, out / "a.json")


def _empty_zoo(ws: Workspace, out: Path) -> None:
    (out / "zoo").mkdir()


def _tampered_train_state(ws: Workspace, out: Path) -> None:
    shutil.copytree(ws.p("train_state_tampered"), out / "zoo")


def _edited_record(surgery: object) -> Setup:
    """An entry copied into ``out/edited`` whose record claims the ``edited`` loader with ``surgery``."""
    def setup(ws: Workspace, out: Path) -> None:
        import json

        shutil.copytree(ws.model, out / "edited")
        rec = json.loads((out / "edited" / "model.json").read_text())
        rec["loader"] = "edited"
        rec.setdefault("labels", {})["surgery"] = surgery
        (out / "edited" / "model.json").write_text(json.dumps(rec))
    return setup


def _attack(kind: str, *extra: str) -> Args:
    return lambda ws, out: ["attack", kind, str(ws.model), "-o", str(out / "a"), "--device", "cpu", *extra]


def _sr_edited(ws: Workspace, out: Path) -> list[str]:
    return ["sr", str(out / "edited"), str(ws.good), "-o", str(out / "x.png"), "--device", "cpu"]


def render(zoo: str, corpus: str = "corpus_plain", dest: str = "") -> Args:
    """``srprint render`` into ``out`` itself (so ``../x`` from a record would land beside it)."""
    return lambda ws, out: ["render", "--zoo", str(ws.p(zoo)), "--corpus", str(ws.p(corpus)), "-o",
                            str(out / dest) if dest else str(out), "--device", "cpu"]


def env_case(name: str, value: str, rc: int, error: str | None = None) -> Case:
    return Case(f"env-{name.lower().replace('_', '-')}-{value.strip() or 'empty'}",
                lambda ws, out: ["zoo", "list", str(ws.zoo)], rc, error, env={name: value})


def verify(*extra: str, source: Callable[[Workspace, Path], str] | None = None,
           suspect: Callable[[Workspace, Path], str] | None = None) -> Args:
    return lambda ws, out: ["verify", source(ws, out) if source else str(ws.fingerprint),
                            suspect(ws, out) if suspect else str(ws.fingerprint), *extra]


def matrix(dest: str) -> Args:
    return lambda ws, out: ["verify", "matrix", str(ws.model), str(ws.sibling), "-o", str(out / dest), "--size", "16",
                            "--iters", "2", "--device", "cpu"]


# --- the second hostile round (issue 29): records are data, not paths; only named outputs are written
NOT_FINITE = r"pixels are not finite numbers"
BAD_ID = r"invalid model id"
SKIPPED_ID = r"warning: skipped a corrupt zoo entry: .*invalid model id"
CASES: list[Case] = [
    # pixels and special files
    Case("sr-nan-pixel", sr(_model, _bad("nan.tif")), 2, r"nan\.tif: 1 of 256 " + NOT_FINITE, no_output=True),
    Case("sr-inf-pixel", sr(_model, _bad("inf.tif")), 2, r"inf\.tif: 1 of 256 " + NOT_FINITE, no_output=True),
    Case("sr-corrupt-avif", sr(_model, _bad("corrupt.avif")), 2, r"corrupt\.avif: corrupt or truncated",
         no_output=True),
    Case("sr-fifo-input", sr(_model, lambda ws: ws.p("special/fifo.png")), 2, r"fifo\.png is a named pipe",
         no_output=True, timeout=120),
    Case("sr-device-input", sr(_model, lambda ws: Path("/dev/zero")), 2, r"/dev/zero is a character device",
         no_output=True, timeout=120),
    Case("sr-output-dev-null-force", lambda ws, out: ["sr", str(ws.model), str(ws.good), "-o", "/dev/null",
                                                      "--force"], 2, r"/dev/null is a character device.*never"),
    Case("sr-output-fifo-force", sr(_model, _good, "pipe.png", "--force"), 2, r"pipe\.png is a named pipe",
         setup=_fifo("pipe.png"), timeout=120),
    Case("sr-output-fifo", sr(_model, _good, "pipe.png"), 2, r"pipe\.png is a named pipe", setup=_fifo("pipe.png"),
         timeout=120),
    Case("sr-output-onto-the-model-weights-force", lambda ws, out: ["sr", str(ws.model), str(ws.good), "-o",
                                                                    str(ws.model / "model.safetensors"), "--force"],
         2, r"refusing to overwrite the input"),
    Case("sr-output-link-to-device-force", sr(_model, _good, "null.png", "--force"), 2, r"character device",
         setup=_link_to_null),
    # record fields are range-checked where the record is read
    Case("sr-record-input-range-text", sr(_entry("input_range_text"), _good), 2, r"'input_range' must be two finite"),
    Case("sr-record-input-range-one", sr(_entry("input_range_one"), _good), 2, r"'input_range' must be two finite"),
    Case("sr-record-input-range-empty", sr(_entry("input_range_empty"), _good), 2, r"empty 'input_range' \[0, 0\]",
         no_output=True),
    Case("sr-record-input-range-reversed", sr(_entry("input_range_reversed"), _good), 2, r"empty 'input_range'"),
    Case("sr-record-input-range-huge", sr(_entry("input_range_huge"), _good), 2, r"'input_range' must be two"),
    Case("sr-record-grey-string", sr(_entry("grey_string"), _good), 2, r"'grey' must be true or false"),
    Case("sr-record-residual-number", sr(_entry("residual_number"), _good), 2, r"'residual' must be true or false"),
    Case("sr-record-denoiser-claims-x2", sr(_entry("denoiser_x2"), _good), 2, r"restores at its input size.*x2"),
    Case("sr-record-id-dotdot", sr(_entry("id_dotdot"), _good), 2, BAD_ID + r" '\.\./escaped'"),
    Case("sr-record-id-absolute", sr(_entry("id_absolute"), _good), 2, BAD_ID + r" '/.*victim'"),
    Case("sr-record-id-slash", sr(_entry("id_slash"), _good), 2, BAD_ID + r" 'a/b'"),
    Case("sr-record-id-hidden", sr(_entry("id_hidden"), _good), 2, BAD_ID + r" '\.hidden'"),
    Case("sr-record-id-number", sr(_entry("id_number"), _good), 2, BAD_ID + r" 12"),
    Case("sr-record-id-too-long", sr(_entry("id_too_long"), _good), 2, r"longer than 200 characters"),
    Case("sr-record-task-number", sr(_entry("task_number"), _good), 2, r"'task' must be a non-empty string"),
    Case("sr-record-labels-list", sr(_entry("labels_list"), _good), 2, r"'labels' must be an object"),
    # zoos whose records lie: listed without them, or refused when two claim one id
    Case("zoo-list-empty-weights", lambda ws, out: ["zoo", "list", str(ws.p("zoo_empty_weights"))], 0,
         stderr=r"warning: skipped an incomplete zoo entry: .*model\.safetensors is empty"),
    Case("zoo-list-duplicate-ids", lambda ws, out: ["zoo", "list", str(ws.p("zoo_duplicate"))], 2,
         r"two entries claim the model id 'EDSR-skimage-x2-L1-s1' \(.*and .*other\)"),
    Case("zoo-list-id-dotdot", lambda ws, out: ["zoo", "list", str(ws.p("zoo_escape"))], 0, stderr=SKIPPED_ID),
    Case("zoo-list-id-absolute", lambda ws, out: ["zoo", "list", str(ws.p("zoo_absolute"))], 0, stderr=SKIPPED_ID),
    # render: nothing outside -o, whatever the records say
    Case("render-record-id-dotdot", render("zoo_escape"), 0, stderr=SKIPPED_ID + r" '\.\./escaped'"),
    Case("render-record-id-absolute", render("zoo_absolute"), 0, stderr=SKIPPED_ID + r" '/.*victim'"),
    Case("render-duplicate-ids", render("zoo_duplicate"), 2, r"two entries claim the model id", no_output=True),
    Case("render-model-named-like-the-real-class", render("zoo_real_class"), 2, r"'HR' is the class of the real",
         no_output=True),
    Case("render-corpus-image-id-dotdot", render("zoo", "corpus_escape"), 2, r"invalid image id '\.\./\.\./escaped'",
         no_output=True),
    Case("render-corpus-image-id-absolute", render("zoo", "corpus_absolute"), 2, r"invalid image id '/.*victim/im0'",
         no_output=True),
    Case("render-zoo-of-empty-weights", render("zoo_empty_weights"), 0,
         stderr=r"warning: skipped an incomplete zoo entry: .*empty or cut short \(0 bytes\)"),
    Case("render-output-is-a-fifo", render("zoo", dest="pipe"), 2, r"pipe", setup=_fifo("pipe"), timeout=120),
    # folders: a corrupt AVIF or a NaN TIFF is skipped like any bad file
    Case("corpus-skips-corrupt-avif", corpus("mixed_avif"), 0, stderr=r"warning: skipped .*corrupt\.avif"),
    Case("corpus-skips-nan-tiff", corpus("mixed_nan"), 0, stderr=r"warning: skipped .*nan\.tif.*not finite"),
    Case("corpus-fifo-source", corpus("special/fifo.png"), 2, r"fifo\.png", timeout=120),
    Case("predict-skips-corrupt-avif", predict(lambda ws: ws.p("mixed_avif")), 0,
         stderr=r"warning: skipped.*corrupt\.avif"),
    Case("predict-nan-file", predict(_bad("nan.tif")), 2, r"no readable image"),
    Case("predict-fifo", predict(lambda ws: ws.p("special/fifo.png")), 2, r"fifo\.png", timeout=120),
    # imports: names are the same rule as ids; a full disk leaves no partial entry
    Case("import-fifo-checkpoint", imp("special/fifo.pth"), 2, r"fifo\.pth is a named pipe", no_output=True,
         timeout=120),
    Case("import-name-dotdot", imp("ckpt/rtc.pth", "--name", "../escaped"), 2, r"invalid model name '\.\./escaped'",
         no_output=True),
    Case("import-name-absolute", lambda ws, out: ["zoo", "import", str(ws.p("ckpt/rtc.pth")), "--zoo",
                                                  str(out / "zoo"), "--name", str(ws.p("victim"))], 2,
         r"invalid model name '/", no_output=True),
    Case("import-name-too-long", imp("ckpt/rtc.pth", "--name", "n" * 250), 2, r"longer than 200", no_output=True),
    Case("import-manifest-id-dotdot", manifest("manifests/id_dotdot.csv"), 2,
         r"all 1 manifest rows failed.*invalid model name '\.\./escaped'"),
    Case("import-manifest-id-absolute", manifest("manifests/id_absolute.csv"), 2,
         r"all 1 manifest rows failed.*invalid model name '/"),
    Case("import-disk-full", imp("ckpt/rtc.pth"), 2, r"File too large", setup=_empty_zoo, file_size_limit=16384),
    Case("zoo-train-spec-traversal", lambda ws, out: ["zoo", "train", "--spec", "EDSR-skimage-x2-../../../x-s1",
                                                      "--zoo", str(out / "zoo"), "--iters", "2", "--device", "cpu"],
         2, r"unknown loss '\.\./\.\./\.\./x'", no_output=True),
    Case("zoo-train-tampered-state", lambda ws, out: ["zoo", "train", "--spec", ws.model.name, "--zoo",
                                                      str(out / "zoo"), "--iters", "2", "--device", "cpu"], 2,
         r"train_state\.pt: corrupt checkpoint.*delete it", setup=_tampered_train_state),
    # environment variables: parsed before any work, named in the error
    env_case("SRPRINT_PROGRESS_EVERY", "abc", 2, r"SRPRINT_PROGRESS_EVERY='abc' is not a number"),
    env_case("SRPRINT_PROGRESS_EVERY", "-5", 2, r"SRPRINT_PROGRESS_EVERY='-5' is out of range"),
    env_case("SRPRINT_PROGRESS_EVERY", "nan", 2, r"SRPRINT_PROGRESS_EVERY='nan'"),
    env_case("SRPRINT_PROGRESS_EVERY", " ", 0),
    env_case("SRPRINT_MAX_PIXELS", "lots", 2, r"SRPRINT_MAX_PIXELS='lots' is not a whole number"),
    env_case("SRPRINT_MAX_PIXELS", "0", 2, r"SRPRINT_MAX_PIXELS='0' is out of range"),
    env_case("SRPRINT_MAX_PIXELS", "1e6", 2, r"SRPRINT_MAX_PIXELS='1e6' is not a whole number"),
    # fingerprint: the critical-image PNGs follow the JSON's output policy
    Case("fingerprint-critical-png-exists", fingerprint("new.json"), 2,
         r"new\.critical0\.png exists and would be overwritten.*--force", setup=_critical_exists),
    Case("fingerprint-critical-png-force", fingerprint("new.json", "--force"), 0, setup=_critical_exists),
    Case("fingerprint-critical-png-is-a-fifo-force", fingerprint("new.json", "--force"), 2,
         r"new\.critical0\.png is a named pipe", setup=_fifo("new.critical0.png"), timeout=120),
    Case("fingerprint-into-folder-critical-exists", fingerprint("fp"), 2, r"fingerprint\.critical0\.png exists",
         setup=_dir_critical_exists),
    Case("fingerprint-output-dev-null-force", lambda ws, out: ["fingerprint", str(ws.model), "-o", "/dev/null",
                                                               "--force", "--size", "16", "--iters", "2"], 2,
         r"/dev/null is a character device"),
    Case("fingerprint-output-onto-the-model", lambda ws, out: ["fingerprint", str(ws.model), "-o",
                                                               str(ws.model / "model.json"), "--force", "--size", "16",
                                                               "--iters", "2"], 2, r"refusing to overwrite the input"),
    # verify: the side-by-side picture only where named, never onto an input or an existing file
    Case("verify-no-default-image", verify("--method", "quan"), 0, cwd_out=True, no_output=True),
    Case("verify-models-no-default-image", lambda ws, out: ["verify", str(ws.model), str(ws.sibling), "--method",
                                                            "quan", "--size", "16", "--iters", "2", "--device", "cpu"],
         0, cwd_out=True, no_output=True),
    Case("verify-output-is-the-source", lambda ws, out: ["verify", str(out / "a.json"), str(ws.fingerprint), "-o",
                                                         str(out / "a.json")], 2, r"refusing to overwrite the input",
         setup=_fingerprint_copy),
    Case("verify-output-is-the-suspect", lambda ws, out: ["verify", str(ws.fingerprint), str(out / "a.json"), "-o",
                                                          str(out / "a.json")], 2, r"refusing to overwrite the input",
         setup=_fingerprint_copy),
    Case("verify-output-is-the-source-force", lambda ws, out: ["verify", str(out / "a.json"), str(ws.fingerprint),
                                                               "-o", str(out / "a.json"), "--force"], 2,
         r"refusing to overwrite the input", setup=_fingerprint_copy),
    Case("verify-output-exists", lambda ws, out: ["verify", str(ws.fingerprint), str(ws.fingerprint), "-o",
                                                  str(out / "notes.txt")], 2,
         r"notes\.txt exists and would be overwritten.*--force", setup=_notes),
    Case("verify-output-exists-force", lambda ws, out: ["verify", str(ws.fingerprint), str(ws.fingerprint), "-o",
                                                        str(out / "notes.txt"), "--force"], 0, setup=_notes),
    Case("verify-output-dev-null-force", verify("-o", "/dev/null", "--force"), 2, r"/dev/null is a character device"),
    Case("verify-output-fifo", lambda ws, out: ["verify", str(ws.fingerprint), str(ws.fingerprint), "-o",
                                                str(out / "pipe.png")], 2, r"named pipe", setup=_fifo("pipe.png"),
         timeout=120),
    Case("verify-output-is-a-folder", lambda ws, out: ["verify", str(ws.fingerprint), str(ws.fingerprint), "-o",
                                                       str(out)], 2, r"is a folder"),
    Case("verify-matrix-non-empty-output", matrix("mine"), 2, r"non-empty folder.*--force", setup=_nonempty),
    Case("verify-matrix-non-empty-output-force", lambda ws, out: [*matrix("mine")(ws, out), "--force"], 0,
         setup=_nonempty),
    Case("verify-matrix-output-under-a-file", matrix("afile/m"), 2, r"afile", setup=_file_parent),
    Case("verify-matrix-output-is-a-fifo", matrix("pipe"), 2, r"pipe exists and is a named pipe",
         setup=_fifo("pipe"), timeout=120),
    # trace names the filter that matched nothing
    Case("trace-models-match-nothing", lambda ws, out: ["trace", str(ws.good), "--zoo", str(ws.zoo), "--models",
                                                        "NoSuchModel"], 2,
         r"--models 'NoSuchModel' matches no model id", no_output=True),
    # study and report
    Case("study-wait-paper-without-div2k", lambda ws, out: ["study", "--preset", "paper", "--wait", "-o",
                                                            str(out / "s")], 2, r"needs data that is missing",
         no_output=True),
    Case("report-output-dev-null-force", lambda ws, out: ["report", str(ws.render.parent), "-o", "/dev/null",
                                                          "--force"], 2, r"/dev/null is a character device"),
    # verification v3's edit attacks (issue 26): parameter ranges, the output policy, lying edit records
    Case("attack-mix-cond-below-one", _attack("mix", "--cond", "0.5"), 2, r"--cond", no_output=True),
    Case("attack-mix-cond-nan", _attack("mix", "--cond", "nan"), 2, r"cond", no_output=True),
    Case("attack-insert-identity-unknown-kind", _attack("insert-identity", "--kind", "x"), 2,
         r"kind must be conv or block", no_output=True),
    Case("attack-insert-identity-depth-2", _attack("insert-identity", "--depth", "2"), 2, r"--depth", no_output=True),
    Case("attack-padkernel-by-9", _attack("padkernel", "--by", "9"), 2, r"--by", no_output=True),
    Case("attack-widen-extra-0", _attack("widen", "--extra", "0"), 2, r"--extra", no_output=True),
    Case("attack-prune-channels-95", _attack("prune-channels", "--percent", "95"), 2, r"--percent", no_output=True),
    Case("attack-prune-channels-lr-nan", _attack("prune-channels", "--lr", "nan"), 2, r"--lr", no_output=True),
    Case("attack-signflip-onto-its-source", lambda ws, out: ["attack", "signflip", str(ws.model), "-o",
                                                             str(ws.model)], 2, r"refusing to overwrite the source"),
    Case("attack-mix-into-another-entry", lambda ws, out: ["attack", "mix", str(ws.model), "-o", str(out / "entry")],
         2, r"already holds another model", setup=lambda ws, out: shutil.copytree(ws.sibling, out / "entry")),
    Case("edited-record-without-surgery", _sr_edited, 2, r"lacks its original loader", setup=_edited_record(None)),
    Case("edited-record-loops-to-itself", _sr_edited, 2, r"lacks its original loader",
         setup=_edited_record({"base_loader": "edited", "base_shapes": {}, "ops": []})),
    Case("edited-record-claims-huge-shapes", _sr_edited, 2, r"implausibly large",
         setup=_edited_record({"base_loader": "registry", "base_shapes": {"w": [65536, 65536, 64]}, "ops": []})),
    Case("edited-record-names-no-layer", _sr_edited, 2, r"no layer|cannot rebuild|do not match",
         setup=_edited_record({"base_loader": "registry", "base_shapes": {"w": [1]},
                               "ops": [{"op": "pad_kernel", "module": "../../etc"}]})),
    Case("edited-record-unknown-op", _sr_edited, 2, r"unknown structural edit|cannot rebuild|do not match",
         setup=_edited_record({"base_loader": "registry", "base_shapes": {"w": [1]}, "ops": [{"op": "exec"}]})),
]
