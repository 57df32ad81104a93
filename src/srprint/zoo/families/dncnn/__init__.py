"""DnCNN port (Zhang et al., TIP 2017) in the layout with explicit batch norm (SaoYan/DnCNN-PyTorch).

This family's home: network.py (the PyTorch network, registered as an architecture) and
detect.py (recognises its published state dicts).
"""
