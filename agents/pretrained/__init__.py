"""Trained agents shipped with the package, one ``.zip`` per entry of ``manifest.json`` beside this file.

Each manifest entry says what the checkpoint is, how it was trained and how well it did::

    {"env_id": "FourRooms-Dynamic-v0", "algo": "hrm-dqn", "file": "hrm-dqn-four-rooms.zip", "label": "hrm-dqn-carry",
     "trained": {"command", "machine", "date", "env_steps", "optimizer_steps", "wall_time_s", "seed"},
     "evaluation": {"episodes", "success_rate", "success_lo", "success_hi"}}

Load one with :func:`agents.harness.pretrained.load_pretrained`, or ``hrm-mazes watch --pretrained ENV_ID``.
"""
