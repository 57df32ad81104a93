"""
Run the demo study, attribute and parse
=======================================

:func:`srprint.study` runs every stage of a preset that has not finished before (the demo's: train
the zoo, render it, train an attribution classifier, trace, verify) and writes its report;
:func:`srprint.attribute` then asks the study's classifier which model made a rendered image, and
:func:`srprint.parse` asks a small parser which scale did. :func:`srprint.render` renders a zoo on a
corpus, as the study's render stage does.
"""

from pathlib import Path

from _demo import demo_zoo

import srprint

demo_zoo()  # the study's zoo stage finds it trained
s = srprint.study("demo")
print(s.out, s.report.name, sorted(s.stages))
render = Path(s.stages["render"]["render"])

# %%
# ``srprint.render`` is the study's render stage: the same folder and settings, so nothing is redone.
r = srprint.render(demo_zoo(), corpus=s.stages["render"]["corpus"], out=render)
print(r.summary["rendered"], "rendered,", r.summary["existing"], "already there")

# %%
# Attribute one rendered image with the study's classifier.
run = Path(s.stages["attribution"]["cnn_run"])
image = next(p for p in sorted(render.rglob("*.png")) if "EDSR-skimage-x2-L1-s1" in str(p))
a = srprint.attribute(image, run=run)
print(f"attributed to {a.verdict}")
print(a.images[0]["top"])

# %%
# Parse the scale: a parser is an engine classifier trained on another label of the render.
from srprint.classify.run_folder import ClassifierConfig  # noqa: E402
from srprint.classify.train import train_run  # noqa: E402
from srprint.config import srprint_home  # noqa: E402

tiny = ClassifierConfig(backbone="test_convnext", crop=32, head_epochs=0, full_epochs=2, batch_size=8,
                        max_per_class=16, jpeg_augment=0.0)
parser = train_run(render, srprint_home() / "docs" / "parse_scale", tiny, label="scale")
p = srprint.parse(image, run=parser)
print(f"{p.label}: {p.prediction}  {p.aggregate['mean_probs']}")

# %%
# The study's report is one self-contained HTML page; ``srprint.report`` rewrites it.
print(srprint.report(s).path)
