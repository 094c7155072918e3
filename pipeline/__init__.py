"""healthclaims: find the health claims in an article and show what backs each one."""

__version__ = "0.1.0"
