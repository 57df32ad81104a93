"""FSRCNN port (Dong et al., ECCV 2016) in the form of OpenCV's ``dnn_superres`` TensorFlow models.

This family's home: network.py (the PyTorch network, registered as an architecture); its
releases are converted by a file reader of srprint.zoo.imports.
"""
