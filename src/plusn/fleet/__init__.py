"""The fleet: models local and remote behind one Backend contract."""
