"""CARN-M port (Ahn et al., ECCV 2018): cascading residual network, mobile variant.

This family's home: network.py (the PyTorch network, registered as an architecture) and
detect.py (recognises its published state dicts).
"""
