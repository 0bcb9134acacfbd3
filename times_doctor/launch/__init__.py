"""Where runs execute: the launcher table, this machine, SLURM."""
