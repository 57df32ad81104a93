"""Ports of the original MatConvNet denoisers (K. Zhang et al.): DnCNN (CDnCNN-B, DnCNN-3) and FFDNet.

This family's home: network.py (the PyTorch network, registered as an architecture); its
releases are converted by a file reader of srprint.zoo.imports.
"""
