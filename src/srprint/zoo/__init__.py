"""The SR model zoo: architectures, losses, specs, training, imports and the model interface."""
