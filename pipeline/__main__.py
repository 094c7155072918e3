"""`python -m pipeline` runs the healthclaims command line."""

from pipeline.cli import main

main()
