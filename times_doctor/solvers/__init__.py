"""The solver table, the solvers' log grammars, option definitions and profiles."""
