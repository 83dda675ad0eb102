import tensorflow.compat.v1 as tf1
from models import small_cnn

images = tf1.placeholder(tf1.float32, [None, 28, 28, 1])
labels = tf1.placeholder(tf1.int64, [None])
is_training = tf1.placeholder_with_default(False, [])

logits = small_cnn(images, is_training)
loss = tf1.losses.sparse_softmax_cross_entropy(labels, logits)
train_op = tf1.train.AdamOptimizer().minimize(loss)  # expect: BNL003
eval_logits = small_cnn(images, False)  # expect: BNL001
