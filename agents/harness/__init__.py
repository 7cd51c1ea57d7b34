"""The run harness: everything between a command and the algorithms.

================  ======================================================================  ==========
module            job                                                                     torch?
================  ======================================================================  ==========
``algos``         the registry of algorithms (:class:`AlgoSpec`), env ids, devices        no
``config``        :class:`TrainConfig`, the one typed config of a run; integer checks     no
``hyperparams``   the presets in ``agents/configs/*.yaml`` and typed checks of them       on use
``encodings``     observation encodings and :func:`make_env`                              no
``rundir``        run directories, run.yaml, evaluations.csv, ``--force``                 no
                  (only directories hrm-mazes made), output-file checks
``checkpoints``   checkpoints as one unit (step-N/ + latest), verified on resume          no
``evaluation``    players, episodes on held-out seeds, metrics and confidence intervals   no
``baselines``     SB3 side of the registry: constructor kwargs, GridCNN, build / load     yes
``runtime``       device, CPU threads, versions recorded in run.yaml                      on use
``progress``      progress bars on a terminal, plain lines in a log                       no
``logger``        SB3's logger with CleanRL names; ``progress.csv`` continued on resume   yes
``callback``      :class:`TrainingCallback`: progress, evaluation, checkpoints            yes
``curriculum``    :class:`DistanceCurriculum`: nearby goals first, widened on success     yes
``training``      :func:`train`: fresh or resumed, then one shared run                    yes
``loading``       :func:`load_agent`: the one loader of a model (or reference player) to  on use
                  play: evaluate, watch, analyze, benchmark, demo, shipped agents
``suites``        benchmark suite files, checked key by key; their runs                   no
``runner``        where tasks run: in process, on a process pool or Ray; Ctrl-C, errors   on use
``benchmark``     a suite's trials through the runner; ``--resume``                       on use
``report``        the results table, CSV / JSON and learning curves of a benchmark        on use
``aggregate``     rliable statistics over seeds: IQM and P(X > Y) with bootstrap CIs      on use
``tune``          Optuna studies over ``train`` runs, workers through the runner:         yes
                  best.yaml, study.csv, summary.md
``search_spaces`` what ``tune`` samples per algorithm                                     no
``analysis``      ``analyze``: z_H / z_L convergence and divergence per recurrent update  yes
``pretrained``    the agents shipped in ``agents/pretrained/``: their manifest            on use
================  ======================================================================  ==========

The user-facing commands sit on top, in :mod:`agents` (``cli``, ``watch``, ``demo``, ``zoo``); the algorithms
are below: HRM-DQN is its own package, :mod:`agents.hrm_dqn`, and the double DQN baseline is
:mod:`agents.double_dqn`. Nothing is imported here, so ``import agents.harness.X`` costs only X.
"""
