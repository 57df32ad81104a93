"""FMEN port (Du et al., CVPRW 2022), the re-parameterised (inference) form submitted to NTIRE 2022.

This family's home: network.py (the PyTorch network, registered as an architecture) and
detect.py (recognises its published state dicts).
"""
