"""IMDN family ports (Hui et al., ACM MM 2019): IMDN, IMDN_AS, IMDN_RTC, IMDN_RTE.

This family's home: network.py (the PyTorch network, registered as an architecture) and
detect.py (recognises its published state dicts).
"""
