"""
Load a zoo and super-resolve a photo
====================================

:func:`srprint.load_zoo` lists a zoo's models without loading them; :func:`srprint.load_model`
returns the model descriptor, whose ``__call__`` runs the network on an image.
"""

import matplotlib.pyplot as plt
from _demo import demo_zoo

import srprint
from srprint.io.images import skimage_photos

zoo = srprint.load_zoo(demo_zoo(), device="auto")
print(zoo.ids)

# %%
# Every model carries its calling contract: architecture, scale, task, input range, provenance.
model = srprint.load_model("EDSR-skimage-x4-L1-s1", zoo=zoo)
print(model)
print(model.provenance["source"], model.input_range, model.weights.name)

# %%
# Super-resolve a 48 px crop of the held-out photo four times.
lr = skimage_photos()["astronaut"][80:128, 180:228, :3]
result = srprint.super_resolve(lr, model=model)
print(result.to_dict())

fig, axes = plt.subplots(1, 2, figsize=(6, 3))
axes[0].imshow(lr, interpolation="nearest")
axes[0].set_title(f"input {lr.shape[1]}x{lr.shape[0]}")
axes[1].imshow(result.image)
axes[1].set_title(f"{model.architecture} x{model.scale}")
for ax in axes:
    ax.axis("off")
plt.show()
