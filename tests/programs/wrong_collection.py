import tensorflow as tf

is_training = tf.placeholder(tf.bool)
x = tf.placeholder(tf.float32, [None, 16])
h = tf.layers.batch_normalization(tf.layers.dense(x, 32), training=is_training)
loss = tf.reduce_mean(tf.square(tf.layers.dense(h, 1)))
deps = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES)
with tf.control_dependencies(deps):
    train_op = tf.train.AdamOptimizer().minimize(loss)  # expect: BNL003
