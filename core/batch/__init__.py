"""Cohort-scale scoring and explanation: ``python -m core.batch``.

Every labelled image under a data-set folder is predicted and, for each chosen method,
explained and scored (deletion/insertion AUC beside a seeded random map), with results
written as Parquet parts that a rerun resumes. The work runs in-process (``--engine local``)
or on Ray Data (``--engine ray``): a local Ray by default, an existing cluster with
``--address``.

* :mod:`.cohort` — the cohort as plain rows (ids, paths, labels; never pixels);
* :mod:`.worker` — :class:`~core.batch.worker.CaseScorer`, which loads the model and the
  explainers once and scores batches of rows;
* :mod:`.engine` — the same scorer in-process or as a pool of Ray actors;
* :mod:`.store` — the Parquet parts, reading them back, and the per-method and per-patient
  summaries the pages show;
* :mod:`.cli` — the command line.
"""
