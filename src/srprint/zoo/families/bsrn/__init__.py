"""BSRN port (Li et al., CVPRW 2022), as submitted to the NTIRE 2022 efficient-SR challenge (team 18).

This family's home: network.py (the PyTorch network, registered as an architecture) and
detect.py (recognises its published state dicts).
"""
