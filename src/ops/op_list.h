/* Every op table, one line per file in src/ops/ (X-macro, see registry.c). */
OP_GROUP(identity)
OP_GROUP(binary)
OP_GROUP(unary)
OP_GROUP(reduce)
OP_GROUP(softmax)
