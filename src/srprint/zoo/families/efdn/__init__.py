"""EFDN port (Wang, CVPRW 2022), the re-parameterised (deploy) form submitted to NTIRE 2022 (team 01).

This family's home: network.py (the PyTorch network, registered as an architecture) and
detect.py (recognises its published state dicts).
"""
