/*
 * Graph passes: rewrites of the IR for inference. Each pass is one file, takes the
 * graph (topologically sorted) and leaves it sorted and consistent. A pass returns
 * NORMA_OK (whether or not it changed anything) or an error with err filled.
 */
#ifndef NORMA_PASSES_H
#define NORMA_PASSES_H

#include <stddef.h>

#include "ir/ir.h"

typedef struct pass_def {
    const char *name;
    int (*run)(ir_graph *g, char *err, size_t cap);
} pass_def;

int pass_remove_identity(ir_graph *g, char *err, size_t cap);

/* Runs every pass in order, skipping those named in the comma-separated list
 * disabled (may be NULL). */
int pass_run_all(ir_graph *g, const char *disabled, char *err, size_t cap);

/* The ordered pass list (for `norma info` and tests). */
const pass_def *pass_list(int *count);

#endif
