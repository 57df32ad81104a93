"""SRResNet-style GAN generators: SRGAN (Ledig et al., CVPR 2017) as released by leftthomas/SRGAN
(early version: 5 residual blocks, conv+PReLU before the skip, output (tanh+1)/2), and the PyTorch
Fast-SRGAN generator (8 residual blocks with instance norm, inputs and outputs in [-1, 1]).

This family's home: network.py (the PyTorch network, registered as an architecture) and
detect.py (recognises its published state dicts).
"""
