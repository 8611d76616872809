from bench.cli import cli

cli()
