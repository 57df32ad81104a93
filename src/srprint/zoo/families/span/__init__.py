"""SPAN port, re-parameterised form (Wan et al., CVPRW 2024; NTIRE 2024 team 38 'SPAN30 slim').

This family's home: network.py (the PyTorch network, registered as an architecture) and
detect.py (recognises its published state dicts).
"""
