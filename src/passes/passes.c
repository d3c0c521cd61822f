/* The pass pipeline: the order passes run in, and switching them off by name. */
#include <string.h>

#include "passes/passes.h"
#include "norma.h"

static const pass_def passes[] = {
    {"remove-identity", pass_remove_identity},
};

const pass_def *pass_list(int *count)
{
    *count = (int)(sizeof passes / sizeof passes[0]);
    return passes;
}

static int is_disabled(const char *list, const char *name)
{
    if (!list)
        return 0;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        if (len == 3 && strncmp(p, "all", 3) == 0)
            return 1;
        p += len + (e ? 1 : 0);
    }
    return 0;
}

int pass_run_all(ir_graph *g, const char *disabled, char *err, size_t cap)
{
    for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++) {
        if (is_disabled(disabled, passes[i].name))
            continue;
        int rc = passes[i].run(g, err, cap);
        if (rc)
            return rc;
    }
    return NORMA_OK;
}
