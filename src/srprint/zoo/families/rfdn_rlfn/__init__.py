"""Ports of the ESA-based efficient SR family: RFDN (Liu et al., ECCVW 2020) and RLFN (Kong et al.,
CVPRW 2022), including RLFN-S and the NTIRE 2022 RLFN variant.

This family's home: network.py (the PyTorch network, registered as an architecture) and
detect.py (recognises its published state dicts).
"""
