"""VDSR port (Kim et al., CVPR 2016): 20 conv layers on the luma of the bicubic-upsampled image,
predicting the residual. Parameter names follow twtygqyy/pytorch-vdsr; one set of weights serves
x2, x3 and x4 (the upsampling is bicubic, inside the port).

This family's home: network.py (the PyTorch network, registered as an architecture) and
detect.py (recognises its published state dicts).
"""
