/* Every op table, one line per file in src/ops/ (X-macro, see registry.c). */
OP_GROUP(identity)
OP_GROUP(gemm)
OP_GROUP(conv)
OP_GROUP(pool)
