"""Target synchronization: change detection, backup, install, copy, config merge, verify."""
