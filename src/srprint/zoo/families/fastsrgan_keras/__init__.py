"""Fast-SRGAN generator, original Keras/TensorFlow version (HasnainRaz/Fast-SRGAN, before its 2024 PyTorch move).

This family's home: network.py (the PyTorch network, registered as an architecture); its
releases are converted by a file reader of srprint.zoo.imports.
"""
