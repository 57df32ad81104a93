"""MobileSR port (NTIRE 2022 efficient-SR challenge, team 20).

This family's home: network.py (the PyTorch network, registered as an architecture) and
detect.py (recognises its published state dicts).
"""
