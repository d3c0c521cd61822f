/* GatherND, ScatterND, ScatterElements and Scatter: batch_dims, every reduction
 * against a reference, negative indices, and out-of-range indices giving a runtime
 * error that names the op and node (and never touching memory out of bounds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "optest.h"
#include "testutil.h"

static void gathernd_batch_dims_matches_hand_result(void **state)
{
    (void)state;
    /* data (2,2,2) = 0..7, indices (2,1) batch_dims=1 -> [[2,3],[4,5]] */
    int32_t x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    int64_t d[3] = {2, 2, 2}, id[2] = {2, 1}, idx[2] = {1, -2};
    ir_tensor *ins[2] = {ot_tensor(NORMA_INT32, 3, d, x), ot_i64(2, id, idx)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "GatherND", 13, 2, 1);
    ot_int(&t, "batch_dims", 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->rank, 2);
    const int32_t want[4] = {2, 3, 4, 5};
    assert_memory_equal(outs[0]->data, want, sizeof want);
    ot_free(outs, 1);
    ot_free(ins, 2);
}

static void gathernd_full_tuples_match_reference(void **state)
{
    (void)state;
    tu_seed(9);
    int64_t d[3] = {3, 4, 5}, id[3] = {2, 3, 2}, idx[12];
    float x[60];
    tu_fill(x, 60, -1, 1);
    for (int i = 0; i < 6; i++) {
        idx[2 * i] = (int64_t)tu_uniform(-3, 3);
        idx[2 * i + 1] = (int64_t)tu_uniform(-4, 4);
    }
    ir_tensor *ins[2] = {ot_f32(3, d, x), ot_i64(3, id, idx)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "GatherND", 13, 2, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->rank, 3); /* (2,3) + (5) */
    for (int i = 0; i < 6; i++) {
        int64_t a = idx[2 * i] < 0 ? idx[2 * i] + 3 : idx[2 * i], b = idx[2 * i + 1] < 0 ? idx[2 * i + 1] + 4 : idx[2 * i + 1];
        assert_memory_equal((float *)outs[0]->data + i * 5, x + (a * 4 + b) * 5, 5 * sizeof(float));
    }
    ot_free(outs, 1);
    ot_free(ins, 2);
}

static void gathernd_out_of_range_index_is_runtime_error(void **state)
{
    (void)state;
    float x[4] = {1, 2, 3, 4};
    int64_t d[2] = {2, 2}, id[2] = {1, 2}, idx[2] = {1, 2};
    ir_tensor *ins[2] = {ot_f32(2, d, x), ot_i64(2, id, idx)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "GatherND", 13, 2, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_RUNTIME);
    assert_non_null(strstr(t.err, "GatherND 'n0': index 2 at position 1 is out of range [-2, 1]"));
    ot_free(ins, 2);
}

/* ScatterND into (4,3) with row indices and each reduction, against a reference. */
static void scatternd_reductions_match_reference(void **state)
{
    (void)state;
    static const char *reds[] = {"none", "add", "mul", "max", "min"};
    tu_seed(21);
    float x[12], u[9];
    tu_fill(x, 12, -2, 2);
    tu_fill(u, 9, -2, 2);
    int64_t d[2] = {4, 3}, id[2] = {3, 1}, idx[3] = {2, -4, 2}, ud[2] = {3, 3}; /* row 2 twice */
    for (int r = 0; r < 5; r++) {
        ir_tensor *ins[3] = {ot_f32(2, d, x), ot_i64(2, id, idx), ot_f32(2, ud, u)}, *outs[1] = {0};
        ot_node t;
        ot_init(&t, "ScatterND", 18, 3, 1);
        ot_str(&t, "reduction", reds[r]);
        assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
        float want[12];
        memcpy(want, x, sizeof want);
        for (int j = 0; j < 3; j++) {
            int row = (int)(idx[j] < 0 ? idx[j] + 4 : idx[j]);
            for (int c = 0; c < 3; c++) {
                float *w = &want[row * 3 + c], v = u[j * 3 + c];
                *w = r == 0 ? v : r == 1 ? *w + v : r == 2 ? *w * v : r == 3 ? (v > *w ? v : *w) : (v < *w ? v : *w);
            }
        }
        assert_memory_equal(outs[0]->data, want, sizeof want);
        ot_free(outs, 1);
        ot_free(ins, 3);
    }
}

static void scatternd_bad_index_and_shape_fail(void **state)
{
    (void)state;
    float x[4] = {0}, u[2] = {1, 2};
    int64_t d = 4, id[2] = {2, 1}, idx[2] = {0, 4}, ud = 2;
    ir_tensor *ins[3] = {ot_f32(1, &d, x), ot_i64(2, id, idx), ot_f32(1, &ud, u)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "ScatterND", 16, 3, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_RUNTIME);
    assert_non_null(strstr(t.err, "ScatterND 'n0': index 4 at position 1 is out of range [-4, 3]"));
    ot_init(&t, "ScatterND", 16, 3, 1);
    ot_str(&t, "reduction", "sum");
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "unknown reduction 'sum'"));
    ot_free(ins, 3);
    int64_t bad_ud = 3;
    float u3[3] = {0};
    ir_tensor *ins2[3] = {ot_f32(1, &d, x), ot_i64(2, id, idx), ot_f32(1, &bad_ud, u3)};
    ot_init(&t, "ScatterND", 16, 3, 1);
    assert_int_equal(ot_eval(&t, ins2, outs), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "updates shape (3)"));
    ot_free(ins2, 3);
}

static void scatter_elements_reductions_and_negative_indices(void **state)
{
    (void)state;
    static const char *reds[] = {"none", "add", "mul", "max", "min"};
    int64_t x[6] = {1, 2, 3, 4, 5, 6}, d[2] = {2, 3}, id[2] = {2, 2}, idx[4] = {-1, 0, 2, 2}, u[4] = {10, -3, 7, 8};
    for (int r = 0; r < 5; r++) {
        ir_tensor *ins[3] = {ot_i64(2, d, x), ot_i64(2, id, idx), ot_i64(2, id, u)}, *outs[1] = {0};
        ot_node t;
        ot_init(&t, "ScatterElements", 18, 3, 1);
        ot_int(&t, "axis", 1);
        ot_str(&t, "reduction", reds[r]);
        assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
        int64_t want[6];
        memcpy(want, x, sizeof want);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                int64_t c = idx[i * 2 + j] < 0 ? idx[i * 2 + j] + 3 : idx[i * 2 + j], v = u[i * 2 + j];
                int64_t *w = &want[i * 3 + c];
                *w = r == 0 ? v : r == 1 ? *w + v : r == 2 ? *w * v : r == 3 ? (v > *w ? v : *w) : (v < *w ? v : *w);
            }
        assert_memory_equal(outs[0]->data, want, sizeof want);
        ot_free(outs, 1);
        ot_free(ins, 3);
    }
}

static void scatter_opset9_is_scatter_elements_and_checks_indices(void **state)
{
    (void)state;
    float x[3] = {0, 0, 0}, u[2] = {5, 6};
    int64_t d = 3, id = 2, idx[2] = {2, -3};
    ir_tensor *ins[3] = {ot_f32(1, &d, x), ot_i64(1, &id, idx), ot_f32(1, &id, u)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "Scatter", 10, 3, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    const float want[3] = {6, 0, 5};
    assert_memory_equal(outs[0]->data, want, sizeof want);
    ot_free(outs, 1);
    idx[1] = -4;
    memcpy(ins[1]->data, idx, sizeof idx);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_RUNTIME);
    assert_non_null(strstr(t.err, "Scatter 'n0': index -4 at position 1 is out of range [-3, 2]"));
    ot_free(ins, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gathernd_batch_dims_matches_hand_result),
        cmocka_unit_test(gathernd_full_tuples_match_reference),
        cmocka_unit_test(gathernd_out_of_range_index_is_runtime_error),
        cmocka_unit_test(scatternd_reductions_match_reference),
        cmocka_unit_test(scatternd_bad_index_and_shape_fail),
        cmocka_unit_test(scatter_elements_reductions_and_negative_indices),
        cmocka_unit_test(scatter_opset9_is_scatter_elements_and_checks_indices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
