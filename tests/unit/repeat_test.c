/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of repeat.c: which candidates count as likely repeats, and in
 * which order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ngram.h"
#include "repeat.h"

static int32_t grams[6][NGRAM_MAX];
static size_t counts[6];

static const char *const texts[] = {
    "我们小区3栋的电梯已经停运三天了，老人上下楼非常困难，请尽快维修。", /* the new appeal */
    "3栋电梯停运三天了还没修，老人上下楼非常困难，请尽快派人维修。",     /* reworded */
    "楼下烧烤店每天营业到凌晨两点，油烟和噪音严重影响休息。",            /* different */
    "我家所在片区从昨天早上开始停水，到现在还没有来水。",                /* different */
    "小区电梯又坏了。",                                                  /* weakly similar */
    "我们小区3栋的电梯已经停运三天了，老人上下楼非常困难，请尽快维修。", /* identical */
};

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < 6; i++)
        counts[i] = ngram_grams(texts[i], grams[i], NGRAM_MAX);
    return 0;
}

static struct repeat_candidate candidate(const char *id, size_t text, int caller, int place)
{
    struct repeat_candidate c = {id, caller, place, grams[text], counts[text], 0};
    return c;
}

static void similar_at_the_same_place_is_kept(void **state)
{
    struct repeat_candidate c[] = {candidate("noise", 2, 0, 1), candidate("lift", 1, 0, 1),
                                   candidate("water", 3, 0, 1)};

    (void)state;
    assert_int_equal(repeat_rank(c, 3, grams[0], counts[0]), 1);
    assert_string_equal(c[0].id, "lift");
    assert_true(c[0].score >= REPEAT_THRESHOLD);
}

static void similar_elsewhere_is_not_kept(void **state)
{
    struct repeat_candidate c[] = {candidate("lift", 1, 0, 0)};

    (void)state;
    assert_int_equal(repeat_rank(c, 1, grams[0], counts[0]), 0);
}

static void the_same_caller_is_always_kept(void **state)
{
    struct repeat_candidate c[] = {candidate("water", 3, 1, 0)};

    (void)state;
    assert_int_equal(repeat_rank(c, 1, grams[0], counts[0]), 1);
    assert_true(c[0].score < REPEAT_THRESHOLD);
}

static void best_first_and_at_most_five(void **state)
{
    struct repeat_candidate c[8];

    (void)state;
    for (int i = 0; i < 6; i++)
        c[i] = candidate("weak", 4, 1, 1);
    c[6] = candidate("same", 5, 0, 1);
    c[7] = candidate("lift", 1, 0, 1);
    assert_int_equal(repeat_rank(c, 8, grams[0], counts[0]), REPEAT_MAX);
    assert_string_equal(c[0].id, "same");
    assert_true(c[0].score > 0.99);
    assert_string_equal(c[1].id, "lift");
    for (int i = 1; i < REPEAT_MAX; i++)
        assert_true(c[i - 1].score >= c[i].score);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(similar_at_the_same_place_is_kept),
        cmocka_unit_test(similar_elsewhere_is_not_kept),
        cmocka_unit_test(the_same_caller_is_always_kept),
        cmocka_unit_test(best_first_and_at_most_five),
    };
    return cmocka_run_group_tests_name("repeat", tests, setup, NULL);
}
