"""The run harness: everything between a command and the algorithms.

================  ======================================================================  ==========
module            job                                                                     torch?
================  ======================================================================  ==========
``algos``         the registry of algorithms (:class:`AlgoSpec`), env ids, devices        no
``config``        a command's options: :class:`TrainConfig`, :class:`TuneConfig`          no
                  (the one typed config of a run, and of a study); integer checks
``hyperparams``   the presets in ``agents/configs/*.yaml`` and typed checks of them       on use
``encodings``     observation encodings and :func:`make_env`                              no
``rundir``        run directories, run.yaml, evaluations.csv, ``--force``                 no
                  (only directories hrm-mazes made), output-file checks, the one
                  reader of YAML inputs (configs, suites, run.yaml, tune.yaml)
``checkpoints``   checkpoints as one unit (step-N/ + latest), verified on resume          no
``evaluation``    players, episodes on held-out seeds, metrics and confidence intervals   no
``models``        SB3 side of the registry, every algorithm's model: constructor kwargs,  yes
                  GridCNN, build / load (``baselines``: the old name, for old pickles)
``runtime``       device, CPU threads, versions recorded in run.yaml                      on use
``progress``      progress bars on a terminal, plain lines in a log                       no
``logger``        SB3's logger with CleanRL names; ``progress.csv`` continued on resume   yes
``callback``      :class:`TrainingCallback`: progress, evaluation, checkpoints            yes
``curriculum``    :class:`DistanceCurriculum`: nearby goals first, widened on success     yes
``training``      :func:`train`: fresh or resumed, then one shared run                    yes
``loading``       :func:`load_agent`: the one loader of a model (or reference player) to  on use
                  play: evaluate, watch, analyze, benchmark, demo, shipped agents
``runner``        where tasks run: in process, on a process pool or Ray; Ctrl-C, errors   on use
                  (benchmark's trials, tune's workers, the demo's trainings)
``aggregate``     rliable statistics over seeds: IQM and P(X > Y) with bootstrap CIs      on use
                  (reports, ``benchmarks/score_table.py``, ``suite_curves.py``)
``benchmark/``    the ``benchmark`` wing, a package: ``suites`` (suite files, checked     on use
                  key by key), ``trials`` (a suite's trials through the runner,
                  ``--resume``; :func:`run_suite`), ``report`` (results table, CSV /
                  JSON, learning curves)
``tune/``         the ``tune`` wing, a package: ``study`` (Optuna studies over ``train``  yes
                  runs, workers through the runner: best.yaml, study.csv, summary.md;
                  :func:`tune`), ``search_spaces`` (what a study samples per algorithm,
                  no torch)
``pretrained``    the agents shipped in ``agents/pretrained/``: their manifest            on use
================  ======================================================================  ==========

The two wings, :mod:`agents.harness.benchmark` and :mod:`agents.harness.tune`, are packages with their own module
tables; they import from the flat modules of the harness, never from each other. The user-facing
commands sit on top, in :mod:`agents` (``cli``, ``watch``, ``demo``, ``analyze``, ``zoo``); the algorithms
are below: HRM-DQN is its own package, :mod:`agents.hrm_dqn`, and the double DQN baseline is
:mod:`agents.double_dqn`. Nothing is imported here, so ``import agents.harness.X`` costs only X.
"""
