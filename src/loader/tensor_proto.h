/* TensorProto -> ir_tensor (see tensor_proto.c). Private to the loader. */
#ifndef NORMA_TENSOR_PROTO_H
#define NORMA_TENSOR_PROTO_H

#include "ir/ir.h"
#include "loader/loader.h"
#include "onnx.pb-c.h"

/* Converts tp. With a store st (the arena tp was unpacked into), data is borrowed
 * where possible; with st NULL it is always copied and external data is refused. */
int ld_tensor_from_proto(const Onnx__TensorProto *tp, ld_store *st, ir_tensor **out, char *err,
                         size_t cap);

#endif
