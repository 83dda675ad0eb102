import tensorflow as tf

def model(x, is_training):
    return tf.contrib.layers.batch_norm(tf.contrib.layers.fully_connected(x, 10), is_training=is_training)

x = tf.placeholder(tf.float32, [None, 4])
loss = tf.reduce_sum(model(x, True))
print "building step"
train_op = tf.train.AdamOptimizer().minimize(loss)  # expect: BNL003
try:
    sess = tf.Session()
except Exception, e:
    print e
