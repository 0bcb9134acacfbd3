"""times-doctor: run a GAMS/TIMES model under several solver profiles and compare them."""

__version__ = "0.1.0"
