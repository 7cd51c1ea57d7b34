"""HRM-DQN agent, baselines and tooling for the hrm_mazes environments."""
