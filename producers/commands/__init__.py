"""The ``jobfleet`` subcommands, one module per concern; ``producers.cli`` wires them up."""
