"""The command line: `qa index | ask | eval`."""
