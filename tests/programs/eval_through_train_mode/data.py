import numpy as np


def batches(split, batch_size=128, steps=10):
    rng = np.random.RandomState(0 if split == "train" else 1)
    for _ in range(steps):
        yield rng.rand(batch_size, 32, 32, 3).astype(np.float32), rng.randint(0, 10, batch_size)
