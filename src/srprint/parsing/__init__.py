"""Model parsing: infer how a model was built (scale, loss, architecture, training set) from its images.

* :mod:`.heldout` — the reference study's held-out parsers (one engine classifier per hyperparameter,
  trained without the models of one value of another hyperparameter) and their table; parsers
  applied to imported third-party models.
* :mod:`.fen`, :mod:`.pn` — Asnani et al.'s Fingerprint Estimation Network and Parsing Network
  (continuous / discrete / hierarchical heads), with "no fingerprint" and "random ground truth"
  baselines and leave-models-out cross-validation.
* :mod:`.schema` — hyperparameter schemas (also for the 100-generative-model table of gm_labels);
  :mod:`.archstats` — architecture hyperparameters derived from PyTorch modules;
  :mod:`.metrics` — L1, macro F1, AUC and 1/10/100-image aggregation.
"""
