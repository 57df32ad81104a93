"""SAFMN port, NTIRE 2023 efficient-SR variant (Sun et al., ICCV 2023; challenge team 15).

This family's home: network.py (the PyTorch network, registered as an architecture) and
detect.py (recognises its published state dicts).
"""
