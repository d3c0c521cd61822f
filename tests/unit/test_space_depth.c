/* DepthToSpace (DCR, CRD) and SpaceToDepth against index-formula references on an
 * awkward shape, their round trip, ReverseSequence against a reference, and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "optest.h"
#include "testutil.h"

static void depth_to_space_modes_match_reference(void **state)
{
    (void)state;
    enum { N = 2, C = 12, H = 3, W = 5, B = 2, CO = C / (B * B) };
    static float x[N * C * H * W];
    tu_seed(4);
    tu_fill(x, N * C * H * W, -1, 1);
    int64_t d[4] = {N, C, H, W};
    for (int crd = 0; crd < 2; crd++) {
        ir_tensor *ins[1] = {ot_f32(4, d, x)}, *outs[1] = {0};
        ot_node t;
        ot_init(&t, "DepthToSpace", 13, 1, 1);
        ot_int(&t, "blocksize", B);
        ot_str(&t, "mode", crd ? "CRD" : "DCR");
        assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
        const float *y = outs[0]->data;
        for (int n = 0; n < N; n++)
            for (int c = 0; c < CO; c++)
                for (int h = 0; h < H * B; h++)
                    for (int w = 0; w < W * B; w++) {
                        int bh = h % B, bw = w % B;
                        int ic = crd ? c * B * B + bh * B + bw : (bh * B + bw) * CO + c;
                        float want = x[((n * C + ic) * H + h / B) * W + w / B];
                        assert_true(y[((n * CO + c) * H * B + h) * W * B + w] == want);
                    }
        ot_free(outs, 1);
        ot_free(ins, 1);
    }
}

static void space_to_depth_matches_reference_and_round_trips(void **state)
{
    (void)state;
    enum { N = 1, C = 3, H = 6, W = 9, B = 3 };
    static int32_t x[N * C * H * W];
    for (int i = 0; i < N * C * H * W; i++)
        x[i] = i * 7 + 1;
    int64_t d[4] = {N, C, H, W};
    ir_tensor *ins[1] = {ot_tensor(NORMA_INT32, 4, d, x)}, *outs[1] = {0}, *back[1] = {0};
    ot_node t;
    ot_init(&t, "SpaceToDepth", 13, 1, 1);
    ot_int(&t, "blocksize", B);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->dims[1], C * B * B);
    const int32_t *y = outs[0]->data;
    for (int oc = 0; oc < C * B * B; oc++)
        for (int h = 0; h < H / B; h++)
            for (int w = 0; w < W / B; w++) {
                int c = oc % C, bh = oc / C / B, bw = oc / C % B;
                assert_int_equal(y[(oc * (H / B) + h) * (W / B) + w], x[(c * H + h * B + bh) * W + w * B + bw]);
            }
    ot_init(&t, "DepthToSpace", 13, 1, 1);
    ot_int(&t, "blocksize", B);
    assert_int_equal(ot_eval(&t, outs, back), NORMA_OK);
    assert_memory_equal(back[0]->data, x, sizeof x);
    ot_free(back, 1);
    ot_free(outs, 1);
    ot_free(ins, 1);
}

static void space_depth_shape_errors(void **state)
{
    (void)state;
    int64_t d[4] = {1, 6, 4, 4};
    ir_tensor *ins[1] = {ot_f32(4, d, NULL)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "DepthToSpace", 13, 1, 1);
    ot_int(&t, "blocksize", 2);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "DepthToSpace 'n0': C=6 is not a multiple of blocksize^2=4"));
    ot_init(&t, "SpaceToDepth", 13, 1, 1);
    ot_int(&t, "blocksize", 3);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "must be multiples of blocksize 3"));
    ot_init(&t, "DepthToSpace", 13, 1, 1);
    ot_int(&t, "blocksize", 2);
    ot_str(&t, "mode", "XYZ");
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "mode 'XYZ'"));
    ot_free(ins, 1);
}

static void reverse_sequence_both_layouts_match_reference(void **state)
{
    (void)state;
    enum { T = 5, B = 3, I = 2 };
    float x[T * B * I];
    for (int i = 0; i < T * B * I; i++)
        x[i] = (float)i;
    int64_t lens[B] = {5, 0, 3}, nb = B;
    for (int ta = 0; ta < 2; ta++) {
        int64_t d[3] = {ta == 0 ? T : B, ta == 0 ? B : T, I};
        ir_tensor *ins[2] = {ot_f32(3, d, x), ot_i64(1, &nb, lens)}, *outs[1] = {0};
        ot_node t;
        ot_init(&t, "ReverseSequence", 10, 2, 1);
        ot_int(&t, "time_axis", ta);
        ot_int(&t, "batch_axis", 1 - ta);
        assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
        const float *y = outs[0]->data;
        for (int b = 0; b < B; b++)
            for (int s = 0; s < T; s++)
                for (int i = 0; i < I; i++) {
                    int from = s < lens[b] ? (int)lens[b] - 1 - s : s;
                    int o = ta == 0 ? (s * B + b) * I + i : (b * T + s) * I + i;
                    int f = ta == 0 ? (from * B + b) * I + i : (b * T + from) * I + i;
                    assert_true(y[o] == x[f]);
                }
        ot_free(outs, 1);
        ot_free(ins, 2);
    }
}

static void reverse_sequence_bad_length_is_runtime_error(void **state)
{
    (void)state;
    int64_t d[2] = {2, 3}, lens[3] = {1, 3, 2}, nb = 3;
    ir_tensor *ins[2] = {ot_f32(2, d, NULL), ot_i64(1, &nb, lens)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "ReverseSequence", 10, 2, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_RUNTIME);
    assert_non_null(strstr(t.err, "ReverseSequence 'n0': sequence_lens[1] = 3 is out of range [0, 2]"));
    ot_free(ins, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(depth_to_space_modes_match_reference),
        cmocka_unit_test(space_to_depth_matches_reference_and_round_trips),
        cmocka_unit_test(space_depth_shape_errors),
        cmocka_unit_test(reverse_sequence_both_layouts_match_reference),
        cmocka_unit_test(reverse_sequence_bad_length_is_runtime_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
